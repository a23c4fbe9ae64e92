--- `:Codels explain`: the model's short explanation of the function at the cursor (or of the
--- lines of a range, `:'<,'>Codels explain`) in a floating window. Nothing is edited.
---
--- The server answers `codels/explain` with Markdown; asking again while an explanation is on its
--- way cancels that one (`$/cancelRequest` stops the model), as does `:Codels explain cancel`.

local M = {}

---@type { client: vim.lsp.Client, id: integer, ticket: table }?
local pending = nil

--- The floating window of the last explanation (nil when none is open).
---@type integer?
M.window = nil

---@param message string
---@param level? integer
local function say(message, level)
  vim.notify(message, level or vim.log.levels.INFO, { title = 'codels' })
end

--- Cancel the explanation on its way, if any; whether there was one.
---@return boolean
function M.cancel()
  local asked = pending
  pending = nil
  if asked then
    asked.client:cancel_request(asked.id)
    return true
  end
  return false
end

--- The lines of the floating window: a title line, the explanation, what it cost.
---@param result table the answer to codels/explain
---@return string[]
function M.lines(result)
  local lines = { '# ' .. (result.title or 'Explanation'), '' }
  vim.list_extend(lines, vim.split(result.markdown or '', '\n', { plain = true }))
  local facts = {}
  if type(result.model) == 'string' then
    table.insert(facts, result.model)
  end
  if type(result.totalMs) == 'number' then
    table.insert(facts, ('%.1f s'):format(result.totalMs / 1000))
  end
  if result.truncated == true then
    table.insert(facts, 'cut short')
  end
  table.insert(lines, '')
  table.insert(lines, ('_codels%s: written by the local model, which can be wrong_'):format(
    #facts > 0 and (' (' .. table.concat(facts, ', ') .. ')') or ''
  ))
  return lines
end

---@param result table
local function show(result)
  local _, window = vim.lsp.util.open_floating_preview(M.lines(result), 'markdown', {
    border = 'rounded',
    focus_id = 'codels-explain',
    max_width = math.min(88, math.max(40, vim.o.columns - 8)),
    max_height = math.max(6, math.floor(vim.o.lines * 0.6)),
    wrap = true,
  })
  M.window = window
end

--- Ask codels to explain the code of `buf`: lines `line1`-`line2` (1-based) when given, else
--- the function at the cursor.
---@param buf? integer
---@param line1? integer
---@param line2? integer
function M.explain(buf, line1, line2)
  buf = (buf == nil or buf == 0) and vim.api.nvim_get_current_buf() or buf
  local client = vim.lsp.get_clients({ bufnr = buf, name = 'codels' })[1]
  if not client then
    say('codels: the server is not attached to this buffer (open a Python file; :checkhealth codels)',
      vim.log.levels.WARN)
    return
  end
  M.cancel()
  local encoding = client.offset_encoding or 'utf-16'
  local range ---@type table
  if line1 and line2 then
    -- Whole lines: up to the start of the line after the last (the buffer ends in a newline).
    range = { start = { line = line1 - 1, character = 0 }, ['end'] = { line = line2, character = 0 } }
  else
    local position = vim.lsp.util.make_position_params(0, encoding).position
    range = { start = position, ['end'] = position }
  end
  local params = { textDocument = vim.lsp.util.make_text_document_params(buf), range = range }
  vim.api.nvim_echo({ { 'codels: explaining…', 'Comment' } }, false, {})
  local ticket = {}
  local ok, id = client:request('codels/explain', params, function(err, result)
    if pending == nil or pending.ticket ~= ticket then
      return -- cancelled, or another explanation was asked for meanwhile
    end
    pending = nil
    vim.schedule(function()
      vim.api.nvim_echo({ { '' } }, false, {})
      if err then
        say(err.message or 'codels: the explanation failed', vim.log.levels.WARN)
      elseif type(result) ~= 'table' or type(result.markdown) ~= 'string' then
        say('codels: the server gave no explanation', vim.log.levels.WARN)
      elseif vim.api.nvim_get_current_buf() == buf then
        show(result)
      end
    end)
  end, buf)
  if ok and id then
    pending = { client = client, id = id, ticket = ticket }
  else
    say('codels: could not ask the server for an explanation (is it running? :Codels status)',
      vim.log.levels.WARN)
  end
end

return M
