--- What codels tells the user: one sentence each, said once, never a stack trace.
---
--- Used by lsp/codels.lua (the server stopped) and by setup() (the server is missing, ghost text
--- needs Neovim 0.12).

local M = {}

local said = {} ---@type table<string, boolean>

--- Notify `message` once per session under `key`.
---@param key string
---@param message string
---@param level integer vim.log.levels
function M.once(key, message, level)
  if said[key] then
    return
  end
  said[key] = true
  vim.schedule(function()
    vim.notify(message, level, { title = 'codels' })
  end)
end

--- Notify `message` once for good: a marker under stdpath('state') remembers it across sessions.
---@param key string
---@param message string
---@param level integer vim.log.levels
function M.once_ever(key, message, level)
  local ok, state = pcall(vim.fn.stdpath, 'state')
  local marker = ok and (state .. '/codels-' .. key:gsub('[^%w.-]', '_')) or nil
  if marker and vim.uv.fs_stat(marker) then
    said[key] = true
    return
  end
  M.once(key, message, level)
  if marker then
    pcall(vim.fn.mkdir, state, 'p')
    pcall(vim.fn.writefile, { message }, marker)
  end
end

--- Undo what vim.inspect did to a string in the LSP log (only the escapes it writes).
---@param text string
---@return string
local function unquote(text)
  text = text:gsub('^"', ''):gsub('"$', '')
  local replacements = { n = '\n', t = '\t', r = '\r', ['"'] = '"', ['\\'] = '\\' }
  return (text:gsub('\\(.)', function(c)
    return replacements[c] or ('\\' .. c)
  end))
end

--- The last line the server wrote to stderr that reads like an error, from the LSP log.
---@param command string the server's executable, as the log names it
---@return string?
function M.last_server_error(command)
  local ok, path = pcall(vim.lsp.log.get_filename)
  if not ok or not path then
    return nil
  end
  local file = io.open(path, 'rb')
  if not file then
    return nil
  end
  local size = file:seek('end')
  file:seek('set', math.max(0, size - 65536))
  local tail = file:read('*a') or ''
  file:close()
  local quoted = vim.pesc(vim.inspect(command))
  local text = {} ---@type string[]
  for line in tail:gmatch('[^\n]+') do
    local chunk = line:match('\t' .. quoted .. '\t"stderr"\t(".*")$')
    if chunk then
      table.insert(text, unquote(chunk))
    end
  end
  local last ---@type string?
  for line in table.concat(text):gmatch('[^\n]+') do
    if line:find('Error') or line:find('error:') or line:find(' ERROR ') then
      last = vim.trim(line)
    end
  end
  return last
end

--- The server process ended: say so in one readable message unless it was a normal stop.
---@param code integer
---@param signal integer
---@param client_id integer
function M.server_exited(code, signal, client_id)
  if code == 0 and (signal == 0 or signal == 15) then
    return
  end
  local client = vim.lsp.get_client_by_id(client_id)
  local cmd = client and client.config and client.config.cmd
  local command = type(cmd) == 'table' and cmd[1] or 'codels'
  vim.schedule(function()
    local how = signal ~= 0 and ('was killed by signal %d'):format(signal)
      or ('exited with code %d'):format(code)
    local cause = M.last_server_error(command)
    local message = ('codels: the server %s, so there are no completions until it restarts.'):format(
      how
    ) .. (cause and (' It said: ' .. cause) or '') .. (' Reopen the file (:edit) to start it again; its log: %s'):format(
      vim.lsp.log.get_filename()
    )
    vim.notify(message, vim.log.levels.ERROR, { title = 'codels' })
  end)
end

return M
