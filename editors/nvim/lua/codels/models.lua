--- Picking a model: the catalogue (`codels models list --json`), and pulling one that is not
--- installed (`codels models pull NAME --json`, its progress shown as a progress message) before
--- the server is told to use it, so that a pick never fails later for a missing file.

local M = {}

---@param message string
---@param level? integer
local function say(message, level)
  vim.notify(message, level or vim.log.levels.INFO, { title = 'codels' })
end

--- The last line of `text` that is not JSON (what the command said when it failed).
---@param text string
---@return string
local function last_words(text)
  local last = ''
  for line in (text or ''):gmatch('[^\n]+') do
    if not line:match('^%s*{') then
      last = vim.trim(line)
    end
  end
  return last
end

--- The catalogue's models, with what is installed; `done(rows)`, or nil and a message said.
---@param command string[] the server command without `--stdio`
---@param done fun(rows: table[]?)
function M.list(command, done)
  local argv = vim.list_extend(vim.deepcopy(command), { 'models', 'list', '--json' })
  local ok, started = pcall(vim.system, argv, { text = true }, function(result)
    vim.schedule(function()
      local decoded_ok, rows = pcall(vim.json.decode, result.stdout or '')
      if result.code ~= 0 or not decoded_ok or type(rows) ~= 'table' then
        say(
          ('codels: could not list the models (`%s` failed: %s); see :checkhealth codels'):format(
            table.concat(argv, ' '),
            last_words(result.stderr) ~= '' and last_words(result.stderr) or ('exit ' .. result.code)
          ),
          vim.log.levels.ERROR
        )
        done(nil)
        return
      end
      done(rows)
    end)
  end)
  if not ok then
    say(('codels: could not run %s: %s'):format(argv[1], tostring(started)), vim.log.levels.ERROR)
    done(nil)
  end
end

local progress_id ---@type integer|string|nil

--- Show pulling progress: a progress message where Neovim has them (0.12), else the echo area.
---@param title string
---@param text string
---@param percent? integer
---@param state 'running'|'success'|'failed'
local function show_progress(title, text, percent, state)
  local ok, id = pcall(vim.api.nvim_echo, { { text } }, state ~= 'running', {
    kind = 'progress',
    id = progress_id,
    title = title,
    status = state,
    percent = percent,
  })
  if ok then
    progress_id = state == 'running' and id or nil
    return
  end
  vim.api.nvim_echo({ { ('%s: %s'):format(title, text) } }, state ~= 'running', {})
end

--- Pull model `name` (download or assemble, then verify), showing its progress.
---@param name string
---@param command string[]
---@param done fun(ok: boolean)
function M.pull(name, command, done)
  local argv = vim.list_extend(vim.deepcopy(command), { 'models', 'pull', name, '--json' })
  local title = 'codels: pulling ' .. name
  local stderr = {} ---@type string[]
  local pending = ''
  say(('codels: %s is not installed; pulling it (%s)'):format(name, table.concat(argv, ' ')))
  local function on_stderr(_, data)
    if not data then
      return
    end
    table.insert(stderr, data)
    pending = pending .. data
    while true do
      local line, rest = pending:match('^([^\n]*)\n(.*)$')
      if not line then
        break
      end
      pending = rest
      local ok, step = pcall(vim.json.decode, line)
      if ok and type(step) == 'table' and type(step.message) == 'string' then
        local fraction = type(step.fraction) == 'number' and step.fraction or nil
        vim.schedule(function()
          show_progress(title, step.message, fraction and math.floor(fraction * 100) or nil, 'running')
        end)
      end
    end
  end
  local ok, started = pcall(vim.system, argv, { text = true, stderr = on_stderr }, function(result)
    vim.schedule(function()
      if result.code == 0 then
        show_progress(title, 'installed and verified', 100, 'success')
        say(('codels: %s is installed and verified; loading it'):format(name))
        done(true)
      else
        local why = last_words(table.concat(stderr))
        show_progress(title, 'failed', nil, 'failed')
        say(
          ('codels: pulling %s failed: %s'):format(name, why ~= '' and why or ('exit ' .. result.code)),
          vim.log.levels.ERROR
        )
        done(false)
      end
    end)
  end)
  if not ok then
    say(('codels: could not run %s: %s'):format(argv[1], tostring(started)), vim.log.levels.ERROR)
    done(false)
  end
end

--- The `model` setting that lets the server pick the catalogue model for the machine.
M.AUTO = 'auto'

---@param row table
---@return string
local function describe(row)
  if row.is_auto_entry then
    local here = row.picks and (': ' .. row.picks .. ' here') or ''
    return ('auto  the model for this machine%s  [measured at the first start]'):format(here)
  end
  local facts = {} ---@type string[]
  for _, key in ipairs({ 'parameters', 'quantization', 'family' }) do
    if type(row[key]) == 'string' and row[key] ~= '' then
      table.insert(facts, row[key])
    end
  end
  local state = row.installed and (row.verified and 'installed, verified' or 'installed')
    or 'not installed (pulled when picked)'
  local marks = (row.default and ' (default)' or '') .. (row.auto and ' (auto)' or '')
  return ('%s%s  %s  [%s]'):format(row.name, marks, table.concat(facts, ' · '), state)
end

--- Use model `name`: pull it first if it is a catalogue model that is not installed.
---@param name string a catalogue name, a GGUF path or `auto`
---@param command string[]
---@param row? table its `models list` row, if known
function M.use(name, command, row)
  local set = function()
    require('codels.commands').set_setting('model', name)
  end
  if name == M.AUTO then
    set() -- the server picks among what is installed, and never downloads for it
    return
  end
  if row ~= nil then
    if row.installed then
      set()
    else
      M.pull(name, command, function(ok)
        if ok then
          set()
        end
      end)
    end
    return
  end
  if name:match('%.gguf$') or name:find('/') then
    set() -- a file: the server checks it when it loads it
    return
  end
  M.list(command, function(rows)
    for _, candidate in ipairs(rows or {}) do
      if candidate.name == name then
        M.use(name, command, candidate)
        return
      end
    end
    if rows then
      say(('codels: no model %q in the catalogue; :Codels model lists them'):format(name), vim.log.levels.ERROR)
    end
  end)
end

--- Choose a model from the catalogue (vim.ui.select) and use it.
---@param command string[]
function M.pick(command)
  M.list(command, function(rows)
    if not rows then
      return
    end
    local picks ---@type string?
    for _, row in ipairs(rows) do
      if row.auto then
        picks = row.name
      end
    end
    local items = { { name = M.AUTO, is_auto_entry = true, picks = picks } }
    vim.list_extend(items, rows)
    vim.ui.select(items, { prompt = 'codels: model', format_item = describe }, function(row)
      if row then
        M.use(row.name, command, row)
      end
    end)
  end)
end

return M
