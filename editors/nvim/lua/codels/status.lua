--- What codels is doing, for a statusline (`require('codels').status()`) and `:Codels status`.
---
--- The server says where its model stands (`codels/status`, asked when a client attaches, when
--- its progress ends and after a command changes something); loading progress comes from its
--- work-done progress; the latency is measured here, from an inline completion request to its
--- answer (the `LspRequest` events).

local M = {}

---@class codels.View
---@field phase 'starting'|'loading'|'ready'|'disabled'|'error'
---@field model? string
---@field error? string
---@field percentage? integer
---@field latency_ms? integer the last inline completion's, request to answer
---@field snoozed_until? integer os.time() when a snooze ends

---@type codels.View
M.view = { phase = 'starting' }

local sent = {} ---@type table<string, number>
local loading_tokens = {} ---@type table<string, boolean>

---@param view codels.View
local function redraw(view)
  M.view = view
  vim.schedule(function()
    pcall(vim.cmd.redrawstatus)
  end)
end

--- `value`, with JSON's null (vim.NIL) as nil.
---@param value any
---@return any
local function present(value)
  if value == vim.NIL then
    return nil
  end
  return value
end

--- Ask the server where its model stands; update the view when it answers.
---@param client vim.lsp.Client
---@param done? fun(view: codels.View)
function M.refresh(client, done)
  client:request('codels/status', vim.empty_dict(), function(err, result)
    local view = vim.deepcopy(M.view)
    if err or type(result) ~= 'table' then
      view.phase, view.error = 'error', err and err.message or 'no answer to codels/status'
    else
      local loading = present(result.loading)
      view.model = loading or present(result.name) or view.model
      view.error = present(result.error)
      if result.model == 'failed' then
        view.phase = 'error'
      elseif result.enabled == false then
        view.phase = 'disabled'
      elseif result.model == 'loading' or result.model == 'not loaded' or loading then
        view.phase = 'loading'
      else
        view.phase, view.percentage = 'ready', nil
      end
    end
    if view.phase ~= 'disabled' then
      view.snoozed_until = nil
    end
    redraw(view)
    if done then
      done(view)
    end
  end)
end

--- Follow the server's progress and time inline completion requests (set up once).
function M.watch()
  local group = vim.api.nvim_create_augroup('codels.status', { clear = true })
  vim.api.nvim_create_autocmd('LspProgress', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      local value = vim.tbl_get(args.data, 'params', 'value')
      if not client or client.name ~= 'codels' or type(value) ~= 'table' then
        return
      end
      local token = tostring(vim.tbl_get(args.data, 'params', 'token'))
      if value.kind == 'begin' then
        -- Only the model's loading is a phase; an action's progress (writing, explaining) is not.
        loading_tokens[token] = (value.title or ''):find('loading') ~= nil
      end
      if value.kind == 'end' then
        loading_tokens[token] = nil
        M.refresh(client)
        return
      end
      if loading_tokens[token] == false then
        return
      end
      local view = vim.deepcopy(M.view)
      if view.phase ~= 'disabled' then
        view.phase = 'loading'
      end
      view.percentage = value.percentage or view.percentage
      redraw(view)
    end,
  })
  vim.api.nvim_create_autocmd('LspRequest', {
    group = group,
    callback = function(args)
      local request = args.data.request
      if type(request) ~= 'table' or request.method ~= 'textDocument/inlineCompletion' then
        return
      end
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if not client or client.name ~= 'codels' then
        return
      end
      local key = args.data.client_id .. ':' .. tostring(args.data.request_id)
      if request.type == 'pending' then
        sent[key] = vim.uv.hrtime()
      elseif request.type == 'complete' and sent[key] then
        local view = vim.deepcopy(M.view)
        view.latency_ms = math.floor((vim.uv.hrtime() - sent[key]) / 1e6 + 0.5)
        sent[key] = nil
        redraw(view)
      else
        sent[key] = nil
      end
    end,
  })
end

--- A short text for a statusline: '' where codels is not attached to the current buffer.
---@return string
function M.text()
  if #vim.lsp.get_clients({ bufnr = 0, name = 'codels' }) == 0 then
    return ''
  end
  local view = M.view
  if view.phase == 'loading' then
    return view.percentage and ('codels: loading %d%%'):format(view.percentage)
      or 'codels: loading'
  elseif view.phase == 'ready' then
    local parts = { view.model, view.latency_ms and (view.latency_ms .. ' ms') or nil }
    return #parts > 0 and ('codels: ready (%s)'):format(table.concat(parts, ', '))
      or 'codels: ready'
  elseif view.phase == 'disabled' then
    if view.snoozed_until then
      local minutes = math.max(1, math.ceil((view.snoozed_until - os.time()) / 60))
      return ('codels: snoozed %d min'):format(minutes)
    end
    return 'codels: off'
  elseif view.phase == 'error' then
    return 'codels: error'
  end
  return 'codels: starting'
end

--- Several lines for `:Codels status`.
---@return string
function M.report()
  local view = M.view
  local lines = { 'codels: ' .. view.phase }
  if view.model then
    table.insert(lines, 'model: ' .. view.model)
  end
  if view.latency_ms then
    table.insert(lines, ('last suggestion: %d ms'):format(view.latency_ms))
  end
  if view.snoozed_until then
    table.insert(lines, 'snoozed until ' .. os.date('%H:%M', view.snoozed_until))
  end
  if view.error then
    table.insert(lines, 'error: ' .. view.error)
  end
  return table.concat(lines, '\n')
end

return M
