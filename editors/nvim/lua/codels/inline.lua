--- Neovim 0.12's inline completion as codels drives it: explicit requests, partial accept, hiding.
---
--- `vim.lsp.inline_completion` offers accepting (`get`), cycling (`select`) and enabling in its
--- public API. Asking with trigger kind Invoked, handing it an answer and counting its items need
--- the buffer's internal state, whose names changed while 0.12 was developed (`State` and
--- `Completor`, `jump` and `select`, a handler of all clients' answers and one of each). So
--- nothing is reached by its private name alone: the state table is looked for where the public
--- functions keep it, each use checks that the feature it needs is there (a function of the
--- right form, a table) and falls back on the public API otherwise, with one message saying what
--- is missing.

local messages = require('codels.messages')

local M = {}

--- LSP InlineCompletionTriggerKind.
M.INVOKED = 1
M.AUTOMATIC = 2

M.namespace = vim.api.nvim_create_namespace('nvim.lsp.inline_completion')

---@param value any
---@return boolean
local function holds_states(value)
  return type(value) == 'table' and type(value.active) == 'table'
end

--- The table of Neovim's inline completion whose `active` field holds each buffer's state.
--- It is looked for, not named: first where the capability registry keeps it, then among what
--- the public functions themselves use (their upvalues), so another module layout still works.
---@return table?
local function states()
  local ok, capability = pcall(require, 'vim.lsp._capability')
  local all = ok and type(capability) == 'table' and capability.all or nil
  local registered = type(all) == 'table' and all.inline_completion or nil
  if holds_states(registered) then
    return registered
  end
  local public = vim.lsp.inline_completion or {}
  for _, name in ipairs({ 'get', 'select', 'jump' }) do
    local fn = public[name]
    if type(fn) == 'function' and debug and debug.getupvalue then
      for i = 1, 64 do
        local upname, value = debug.getupvalue(fn, i)
        if upname == nil then
          break
        end
        if holds_states(value) then
          return value
        end
      end
    end
  end
  return nil
end

--- Neovim's inline completion state for `buf`, or nil where it is not found.
---@param buf integer
---@return table?
function M.state(buf)
  local found = states()
  local state = found and found.active[buf] or nil
  return type(state) == 'table' and state or nil
end

---@param state table?
---@param name string
---@return boolean
local function has(state, name)
  if state == nil or type(state[name]) ~= 'function' then
    return false
  end
  if name == 'handler' or name == 'count_items' then
    -- A handler that takes one client's answer (err, result, ctx) keeps items per client; an
    -- earlier form took every client's answers at once, and must not be called this way.
    return type(state.client_state) == 'table'
  end
  return true
end

---@param what string
local function missing(what)
  messages.once(
    'inline-missing:' .. what,
    ('codels: this Neovim\'s inline completion has no %s that codels knows, so %s is not '
      .. 'available here (it needs a Neovim 0.12 release).'):format(what, what == 'handler'
      and 'asking for several suggestions' or what),
    vim.log.levels.WARN
  )
end

--- Show the suggestion `step` places on (the public function is `select`; it was `jump` in
--- early 0.12 development builds).
---@param buf integer
---@param step integer
function M.select(buf, step)
  local public = vim.lsp.inline_completion
  local select = public and (public.select or public.jump)
  if type(select) == 'function' then
    select({ bufnr = buf, count = step })
  else
    missing('select')
  end
end

--- The codels client attached to `buf`.
---@param buf integer
---@return vim.lsp.Client?
function M.client(buf)
  return vim.lsp.get_clients({ bufnr = buf, name = 'codels' })[1]
end

--- How many suggestions are on offer in `buf` (nil where it cannot be told).
---@param buf integer
---@return integer?
function M.count(buf)
  local state = M.state(buf)
  if has(state, 'count_items') then
    return state:count_items()
  end
  return nil
end

--- Whether a suggestion is shown as ghost text in `buf`.
---@param buf integer
---@return boolean
function M.shown(buf)
  return #vim.api.nvim_buf_get_extmarks(buf, M.namespace, 0, -1, { limit = 1 }) > 0
end

--- Where the cursor is, for telling whether an answer is still about it.
---@param buf integer
---@return string
function M.here(buf)
  local cursor = vim.api.nvim_win_get_cursor(0)
  return ('%d:%d:%d'):format(vim.api.nvim_buf_get_changedtick(buf), cursor[1], cursor[2])
end

--- Ask codels for suggestions at the cursor with trigger `kind` and show the answer as Neovim
--- shows its own; then call `after(count)` with the number of suggestions on offer.
---@param buf integer
---@param kind integer M.INVOKED or M.AUTOMATIC
---@param after? fun(count: integer)
---@return boolean whether a request was sent
function M.request(buf, kind, after)
  local client = M.client(buf)
  local state = M.state(buf)
  if not client then
    return false
  end
  if not has(state, 'handler') then
    missing('handler')
    if has(state, 'automatic_request') then
      state:automatic_request()
    end
    return false
  end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  ---@diagnostic disable-next-line: inject-field
  params.context = { triggerKind = kind }
  local asked_at = M.here(buf)
  client:request('textDocument/inlineCompletion', params, function(err, result, ctx)
    -- Dropped if the person typed or moved on meanwhile (Neovim asks again by itself then).
    if M.state(buf) ~= state or not vim.api.nvim_buf_is_valid(buf) or M.here(buf) ~= asked_at then
      return
    end
    state:handler(err, result, ctx)
    if after then
      after(M.count(buf) or 0)
    end
  end, buf)
  return true
end

--- Show `item` as the suggestion on offer now (a rest left after a partial accept).
---@param buf integer
---@param client vim.lsp.Client
---@param text string
---@param command? table the item's command, run when it is accepted
---@return boolean whether it could be shown
local function offer(buf, client, text, command)
  local state = M.state(buf)
  if not has(state, 'handler') then
    return false
  end
  local position = vim.lsp.util.make_position_params(0, client.offset_encoding).position
  local item = {
    insertText = text,
    range = { start = position, ['end'] = position },
    command = command,
  }
  state:handler(nil, { items = { item } }, { client_id = client.id, bufnr = buf })
  return true
end

--- The first word (with the spaces before it) or the first line of `text`.
---@param text string
---@param unit 'word'|'line'
---@return string
function M.part(text, unit)
  if unit == 'line' then
    if text:sub(1, 1) == '\n' then
      return text:match('^\n[^\n]*') or text
    end
    return text:match('^[^\n]*') or text
  end
  return text:match('^[ \t]*[%w_]+')
    or text:match('^[ \t]*[^%w_%s]+')
    or text:match('^[ \t]*\n[ \t]*')
    or text
end

--- What of `item` is left to insert at the cursor: the person may have typed its start.
---@param buf integer
---@param item table vim.lsp.inline_completion.Item
---@return string?
local function rest_of(buf, item)
  local text = item.insert_text
  if type(text) ~= 'string' then
    return nil -- a snippet: only the whole of it can be accepted
  end
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local range = item.range
  local start = type(range) == 'table' and range.start or nil
  if type(start) == 'table' and type(start.row) == 'number' and start.row == row - 1 then
    local line = vim.api.nvim_buf_get_lines(buf, row - 1, row, true)[1]
    local typed = line:sub(start.col + 1, col)
    if text:sub(1, #typed) == typed then
      return text:sub(#typed + 1)
    end
  end
  return text
end

--- Accept the next word or line of the suggestion shown in `buf`; the rest stays shown.
---@param buf integer
---@param unit 'word'|'line'
---@return boolean whether a suggestion was shown
function M.accept_part(buf, unit)
  return vim.lsp.inline_completion.get({
    bufnr = buf,
    on_accept = function(item)
      local rest = rest_of(buf, item)
      if not rest or rest == '' then
        return
      end
      local part = M.part(rest, unit)
      local row, col = unpack(vim.api.nvim_win_get_cursor(0))
      local lines = vim.split(part, '\n', { plain = true })
      vim.api.nvim_buf_set_text(buf, row - 1, col, row - 1, col, lines)
      local last = #lines == 1 and col + #lines[1] or #lines[#lines]
      vim.api.nvim_win_set_cursor(0, { row + #lines - 1, last })
      local client = vim.lsp.get_client_by_id(item.client_id)
      if not client then
        return
      end
      local command = item.command
      local id = type(command) == 'table' and type(command.arguments) == 'table'
        and type(command.arguments[1]) == 'table' and command.arguments[1].id
      if id then
        -- The server then serves this suggestion's rest (it may be one of several offered).
        client:exec_cmd(
          { title = 'codels: accepted part', command = 'codels.acceptedPart', arguments = {
            { id = id, chars = vim.fn.strchars(part) },
          } },
          { bufnr = buf }
        )
      end
      local left = rest:sub(#part + 1)
      if left ~= '' and not offer(buf, client, left, command) then
        M.request(buf, M.AUTOMATIC)
      end
    end,
  })
end

-- -- hiding while a menu is open or a snippet is active -----------------------------------------

local holds = {} ---@type table<integer, table<string, true>>
local held_enabled = {} ---@type table<integer, boolean>

--- Hide codels's ghost text in `buf` for `reason` (`on`), or stop hiding it for that reason.
--- Inline completion is turned off for the buffer while any reason holds, so nothing shows
--- through, and on again (with a fresh request) once none does.
---@param buf integer
---@param reason string
---@param on boolean
function M.hold(buf, reason, on)
  if not vim.api.nvim_buf_is_valid(buf) or not vim.lsp.inline_completion then
    return
  end
  local reasons = holds[buf] or {}
  holds[buf] = reasons
  local was_held = next(reasons) ~= nil
  reasons[reason] = on or nil
  local held = next(reasons) ~= nil
  if held == was_held then
    return
  end
  if held then
    held_enabled[buf] = vim.lsp.inline_completion.is_enabled({ bufnr = buf })
    if held_enabled[buf] then
      vim.lsp.inline_completion.enable(false, { bufnr = buf })
    end
  elseif held_enabled[buf] then
    held_enabled[buf] = nil
    vim.lsp.inline_completion.enable(true, { bufnr = buf })
    if vim.api.nvim_get_mode().mode:sub(1, 1) == 'i' then
      M.request(buf, M.AUTOMATIC)
    end
  end
end

--- Whether codels's ghost text is held back in `buf` (a menu, a snippet).
---@param buf integer
---@return boolean
function M.held(buf)
  return holds[buf] ~= nil and next(holds[buf]) ~= nil
end

--- Hide ghost text in `buf` while the completion menu is visible or a snippet is active.
---@param buf integer
function M.hide_for_menus_and_snippets(buf)
  local group = vim.api.nvim_create_augroup('codels.hide.' .. buf, { clear = true })
  vim.api.nvim_create_autocmd('CompleteChanged', {
    group = group,
    buffer = buf,
    callback = function()
      M.hold(buf, 'menu', true)
    end,
  })
  vim.api.nvim_create_autocmd('CompleteDone', {
    group = group,
    buffer = buf,
    callback = function()
      -- After CompleteDone the menu may open again at once (typing on): wait for the loop.
      vim.schedule(function()
        M.hold(buf, 'menu', vim.fn.pumvisible() == 1)
      end)
    end,
  })
  local function check_snippet()
    local active = vim.snippet ~= nil and type(vim.snippet.active) == 'function'
      and vim.snippet.active()
    M.hold(buf, 'snippet', active == true)
  end
  vim.api.nvim_create_autocmd({ 'ModeChanged', 'CursorMovedI', 'TextChangedI' }, {
    group = group,
    buffer = buf,
    callback = check_snippet,
  })
  vim.api.nvim_create_autocmd('InsertLeave', {
    group = group,
    buffer = buf,
    callback = function()
      if vim.snippet == nil or not vim.snippet.active() then
        M.hold(buf, 'snippet', false)
      end
      M.hold(buf, 'menu', false)
    end,
  })
end

return M
