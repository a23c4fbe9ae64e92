-- codels: inline code completions from a small local code model.
--
-- With this directory on the 'runtimepath', `vim.lsp.enable('codels')` starts the server for
-- the buffers of every language codels reads (Neovim 0.11+). `require('codels').setup()` does that and more: ghost text,
-- keys, messages; see the Neovim section of the codels README.
--
-- Server settings (camelCase, e.g. `{ maxTokens = 64 }`) go in `init_options` and under
-- `settings.codels`; `require('codels').setup({ settings = … })` fills in both.

---@type vim.lsp.Config
return {
  cmd = { 'codels', '--stdio' },
  -- The languages codels reads (the server's codels.languages setting can turn each off).
  filetypes = { 'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'go', 'rust', 'java', 'c', 'cpp' },
  root_markers = {
    'pyproject.toml',
    'setup.py',
    'setup.cfg',
    'requirements.txt',
    'package.json',
    'go.mod',
    '.git',
  },
  on_exit = function(code, signal, client_id)
    local ok, messages = pcall(require, 'codels.messages')
    if ok then
      messages.server_exited(code, signal, client_id)
    end
  end,
}
