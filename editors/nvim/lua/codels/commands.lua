--- `:Codels toggle | snooze [minutes] | status | stats | restart | model [name] | log |
--- explain [cancel]` (`:'<,'>Codels explain` explains the lines of the range).
---
--- Toggling and snoozing change the server's `enabled` setting (so the server, which every
--- request goes through, stops offering suggestions), sent with `workspace/didChangeConfiguration`
--- and kept in the client's settings so that a later `workspace/configuration` agrees.

local messages = require('codels.messages')
local status = require('codels.status')

local M = {}

M.DEFAULT_SNOOZE_MINUTES = 15

local snooze_timer ---@type uv.uv_timer_t?

---@return vim.lsp.Client[]
local function clients()
  return vim.lsp.get_clients({ name = 'codels' })
end

---@param message string
---@param level? integer
local function say(message, level)
  vim.notify(message, level or vim.log.levels.INFO, { title = 'codels' })
end

--- Set server setting `key` to `value` for the running servers and for those started later.
---@param key string camelCase
---@param value any
function M.set_setting(key, value)
  local codels = require('codels')
  local options = codels.options or codels.defaults
  options.settings = options.settings or {}
  options.settings[key] = value
  if vim.lsp.config ~= nil and vim.lsp.config.codels ~= nil then
    vim.lsp.config('codels', { init_options = { [key] = value }, settings = { codels = { [key] = value } } })
  end
  for _, client in ipairs(clients()) do
    client.settings = vim.tbl_deep_extend('force', client.settings or {}, {
      codels = { [key] = value },
    })
    client:notify('workspace/didChangeConfiguration', { settings = client.settings })
    status.refresh(client)
  end
end

local function stop_snooze()
  if snooze_timer then
    snooze_timer:stop()
    snooze_timer:close()
    snooze_timer = nil
  end
  status.view.snoozed_until = nil
end

--- Whether the server offers suggestions (as far as codels here knows).
---@return boolean
local function enabled()
  local codels = require('codels')
  local settings = (codels.options or {}).settings or {}
  return settings.enabled ~= false
end

---@param on boolean
function M.set_enabled(on)
  stop_snooze()
  M.set_setting('enabled', on)
end

function M.toggle()
  local on = not enabled()
  M.set_enabled(on)
  say(on and 'codels: suggestions on' or 'codels: suggestions off (:Codels toggle turns them on)')
end

---@param minutes? number
function M.snooze(minutes)
  minutes = minutes or M.DEFAULT_SNOOZE_MINUTES
  if minutes <= 0 then
    M.set_enabled(true)
    say('codels: snooze ended')
    return
  end
  M.set_enabled(false)
  status.view.snoozed_until = os.time() + math.floor(minutes * 60)
  snooze_timer = vim.uv.new_timer()
  snooze_timer:start(math.floor(minutes * 60000), 0, vim.schedule_wrap(function()
    M.set_enabled(true)
    say('codels: snooze over, suggestions on')
  end))
  say(('codels: snoozed for %s min (until %s); :Codels toggle ends it'):format(
    minutes,
    os.date('%H:%M', status.view.snoozed_until)
  ))
end

function M.show_status()
  local running = clients()
  if #running == 0 then
    say('codels: no server is running (open a Python file to start one; :checkhealth codels)')
    return
  end
  status.refresh(running[1], function()
    vim.schedule(function()
      say(status.report())
    end)
  end)
end

--- Stop the servers and start them again for the buffers they served.
function M.restart()
  local codels = require('codels')
  local buffers = {} ---@type integer[]
  for _, client in ipairs(clients()) do
    for buf in pairs(client.attached_buffers) do
      table.insert(buffers, buf)
    end
    client:stop()
  end
  vim.wait(5000, function()
    return #clients() == 0
  end, 50)
  status.view = { phase = 'starting' }
  codels.start(buffers)
  say('codels: server restarted')
end

--- The server command in force (for `codels models ...`).
---@return string[]
local function server_command()
  local cmd = require('codels').config().cmd
  if type(cmd) ~= 'table' or #cmd == 0 then
    return { 'codels' }
  end
  local base = {} ---@type string[]
  for _, part in ipairs(cmd) do
    if part ~= '--stdio' then
      table.insert(base, part)
    end
  end
  return base
end
M.server_command = server_command

--- The acceptance statistics of this machine (`codels/acceptance`), in a scratch buffer.
function M.show_stats()
  local client = clients()[1]
  local function show(text)
    vim.cmd('botright new')
    local buf = vim.api.nvim_get_current_buf()
    vim.bo[buf].buftype = 'nofile'
    vim.bo[buf].bufhidden = 'wipe'
    pcall(vim.api.nvim_buf_set_name, buf, 'codels://stats')
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(text, '\n', { plain = true }))
    vim.bo[buf].modifiable = false
  end
  if not client then
    local argv = vim.list_extend(server_command(), { 'stats' })
    local ok, result = pcall(function()
      return vim.system(argv, { text = true }):wait(30000)
    end)
    if ok and result.code == 0 then
      show(result.stdout)
    else
      say('codels: could not read the statistics; run `codels stats` in a shell', vim.log.levels.ERROR)
    end
    return
  end
  client:request('codels/acceptance', vim.empty_dict(), function(err, result)
    vim.schedule(function()
      if err or type(result) ~= 'table' or type(result.text) ~= 'string' then
        say('codels: could not read the statistics: ' .. (err and err.message or 'no answer'), vim.log.levels.ERROR)
        return
      end
      show(result.text)
    end)
  end)
end

---@param name string
function M.use_model(name)
  require('codels.models').use(name, server_command())
end

function M.pick_model()
  require('codels.models').pick(server_command())
end

function M.open_log()
  local ok, path = pcall(vim.lsp.log.get_filename)
  if not ok or not path or vim.fn.filereadable(path) == 0 then
    say('codels: there is no LSP log yet (the server writes to it once it starts)')
    return
  end
  vim.cmd.tabedit(vim.fn.fnameescape(path))
  vim.bo.readonly = true
  vim.cmd('normal! G')
  messages.once('log-hint', 'codels: the server\'s lines in this log are its stderr', vim.log.levels.INFO)
end

local subcommands = {
  toggle = function()
    M.toggle()
  end,
  snooze = function(args)
    local minutes = args[1] and tonumber(args[1]) or nil
    if args[1] and not minutes then
      say(('codels: snooze takes a number of minutes, got %q'):format(args[1]), vim.log.levels.ERROR)
      return
    end
    M.snooze(minutes)
  end,
  status = function()
    M.show_status()
  end,
  stats = function()
    M.show_stats()
  end,
  restart = function()
    M.restart()
  end,
  model = function(args)
    if args[1] then
      M.use_model(args[1])
    else
      M.pick_model()
    end
  end,
  log = function()
    M.open_log()
  end,
  explain = function(args, command)
    local explain = require('codels.explain')
    if args[1] == 'cancel' then
      if not explain.cancel() then
        say('codels: no explanation is on its way')
      end
      return
    end
    if command.range > 0 then
      explain.explain(0, command.line1, command.line2)
    else
      explain.explain(0)
    end
  end,
}

--- Define `:Codels`.
function M.define()
  vim.api.nvim_create_user_command('Codels', function(command)
    local args = vim.deepcopy(command.fargs)
    local name = table.remove(args, 1) or 'status'
    local run = subcommands[name]
    if not run then
      say(
        ('codels: no subcommand %q; try :Codels toggle, snooze [minutes], status, stats, restart, '
          .. 'model [name], log or explain'):format(name),
        vim.log.levels.ERROR
      )
      return
    end
    run(args, command)
  end, {
    nargs = '*',
    range = true,
    desc = 'codels: toggle | snooze [minutes] | status | stats | restart | model [name] | log '
      .. '| explain',
    complete = function(lead, line)
      if line:match('^%s*%S+%s+%S*$') then
        return vim.tbl_filter(function(name)
          return name:sub(1, #lead) == lead
        end, vim.tbl_keys(subcommands))
      end
      return {}
    end,
  })
end

return M
