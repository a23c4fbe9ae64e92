--- codels for Neovim: inline code completions from a small local code model.
---
--- `require('codels').setup(opts)` starts the `codels` language server for Python buffers and
--- shows its suggestions as ghost text (Neovim 0.12's `vim.lsp.inline_completion`), with keys to
--- accept all or part of them, ask for one, cycle and dismiss them that fall back to their usual
--- meaning when nothing is shown; ghost text steps aside while the completion menu is open or a
--- snippet is active. `:Codels` toggles, snoozes, restarts, picks a model, shows the state and
--- explains code (`:Codels explain`); `status()` is a statusline component. On Neovim 0.10 and
--- 0.11 the same suggestions come through the completion menu instead.
---
--- The server's own configuration is lsp/codels.lua; setup() only adds to it.

local commands = require('codels.commands')
local inline = require('codels.inline')
local messages = require('codels.messages')
local status = require('codels.status')

local M = {}

---@class codels.Keymaps
---@field accept string|false Accept the suggestion shown (default `<Tab>`)
---@field accept_word string|false Accept its next word, the rest stays shown (`<C-Right>`)
---@field accept_line string|false Accept its next line, the rest stays shown (`<C-Down>`)
---@field trigger string|false Ask for suggestions now (`<M-\>`; for triggerMode = 'manual')
---@field next string|false Next suggestion (asks for more if only one is on offer); on
--- 0.10/0.11: ask for one in the menu (`<M-]>`)
---@field prev string|false Previous suggestion (`<M-[>`)
---@field dismiss string|false Hide the suggestion shown (`<C-]>`)

---@class codels.Options
---@field cmd? string[] How to start the server (default `{ 'codels', '--stdio' }`)
---@field filetypes? string[] Where to start it (default: the `languages` setting's, else every
--- language codels reads)
---@field root_markers? string[] Files that mark a project's root
---@field settings? table Server settings, camelCase as in the codels README (`{ maxTokens = 64 }`)
---@field inline? boolean Turn on Neovim's inline completion (ghost text) (default true)
---@field keymaps? codels.Keymaps|false Insert-mode keys, or false for none

---@type codels.Options
M.defaults = {
  settings = {},
  inline = true,
  keymaps = {
    accept = '<Tab>',
    accept_word = '<C-Right>',
    accept_line = '<C-Down>',
    trigger = '<M-\\>',
    next = '<M-]>',
    prev = '<M-[>',
    dismiss = '<C-]>',
  },
}

--- The filetypes of the languages codels reads (as lsp/codels.lua lists them).
local LANGUAGES = { 'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'go', 'rust', 'java', 'c', 'cpp' }

---@type codels.Options? The options of the last setup() call.
M.options = nil

--- Whether this Neovim shows inline completions (ghost text) natively (0.12+).
---@return boolean
function M.has_inline_completion()
  return vim.lsp.inline_completion ~= nil
end

--- Whether this Neovim has `vim.lsp.config`/`vim.lsp.enable` (0.11+).
---@return boolean
local function has_lsp_config()
  return vim.lsp.config ~= nil and vim.lsp.enable ~= nil
end

--- What setup() adds to lsp/codels.lua.
---@param opts codels.Options
---@return table
local function config_overrides(opts)
  local overrides = {}
  overrides.cmd = opts.cmd
  -- The languages setting names LSP language ids; Neovim's filetypes of those languages are
  -- spelled the same, so the server is not even started for a language turned off.
  local languages = opts.settings and opts.settings.languages
  overrides.filetypes = opts.filetypes or (type(languages) == 'table' and languages or nil)
  overrides.root_markers = opts.root_markers
  if opts.settings and next(opts.settings) then
    overrides.init_options = opts.settings
    overrides.settings = { codels = opts.settings }
  end
  return overrides
end

--- lsp/codels.lua with `opts` applied, read from the 'runtimepath' (for Neovim 0.10).
---@param opts codels.Options
---@return table
local function config_from_runtimepath(opts)
  local file = vim.api.nvim_get_runtime_file('lsp/codels.lua', false)[1]
  local base = file and dofile(file) or { cmd = { 'codels', '--stdio' }, filetypes = LANGUAGES }
  return vim.tbl_extend('force', base, config_overrides(opts))
end

--- The server configuration in force (setup's options over lsp/codels.lua).
---@return table
function M.config()
  if has_lsp_config() then
    return vim.lsp.config.codels or {}
  end
  return config_from_runtimepath(M.options or M.defaults)
end

-- -- inline completion: what is shown, and the keys -----------------------------------------

--- Whether a suggestion is shown as ghost text in buffer `buf`.
---@param buf integer
---@return boolean
function M.suggestion_shown(buf)
  return inline.shown(buf == 0 and vim.api.nvim_get_current_buf() or buf)
end

--- The text of the suggestion shown in `buf` (what the extmark displays), or nil.
---@param buf integer
---@return string?
function M.suggestion_text(buf)
  local marks = vim.api.nvim_buf_get_extmarks(buf, inline.namespace, 0, -1, { details = true })
  if #marks == 0 then
    return nil
  end
  local details = marks[1][4]
  local lines = {} ---@type string[]
  local function join(chunks)
    local parts = {} ---@type string[]
    for _, chunk in ipairs(chunks or {}) do
      table.insert(parts, chunk[1])
    end
    return table.concat(parts)
  end
  table.insert(lines, join(details.virt_text))
  for _, line in ipairs(details.virt_lines or {}) do
    table.insert(lines, join(line))
  end
  return table.concat(lines, '\n')
end

---@param buf? integer
---@return integer
local function resolve(buf)
  return (buf == nil or buf == 0) and vim.api.nvim_get_current_buf() or buf
end

--- Hide the suggestion shown in `buf` and cancel the request for it.
---@param buf? integer
function M.dismiss(buf)
  buf = resolve(buf)
  local state = inline.state(buf)
  if state and type(state.abort) == 'function' then
    state:abort()
  else
    vim.api.nvim_buf_clear_namespace(buf, inline.namespace, 0, -1)
  end
end

--- Ask for a suggestion at the cursor now (as Neovim does when the cursor moves in insert mode).
---@param buf? integer
function M.trigger(buf)
  buf = resolve(buf)
  local state = inline.state(buf)
  if state and type(state.automatic_request) == 'function' then
    state:automatic_request()
  end
end

--- Ask for suggestions at the cursor explicitly (trigger kind Invoked: several to cycle
--- through, and an answer even with triggerMode = 'manual').
---@param buf? integer
---@return boolean whether a request was sent
function M.request(buf)
  return inline.request(resolve(buf), inline.INVOKED)
end

--- Accept the suggestion shown in `buf` (false when none is).
---@param buf? integer
---@return boolean
function M.accept(buf)
  return vim.lsp.inline_completion ~= nil and vim.lsp.inline_completion.get({ bufnr = resolve(buf) })
end

--- Accept the next word of the suggestion shown; the rest stays shown.
---@param buf? integer
---@return boolean whether a suggestion was shown
function M.accept_word(buf)
  return vim.lsp.inline_completion ~= nil and inline.accept_part(resolve(buf), 'word')
end

--- Accept the next line of the suggestion shown; the rest stays shown.
---@param buf? integer
---@return boolean whether a suggestion was shown
function M.accept_line(buf)
  return vim.lsp.inline_completion ~= nil and inline.accept_part(resolve(buf), 'line')
end

local invoked_here = {} ---@type table<integer, string>

--- Show the next (`step` 1) or previous (-1) suggestion; with only one on offer, ask for more
--- first (an explicit request) and move on once they are in. With none shown, ask.
---@param buf? integer
---@param step integer
function M.cycle(buf, step)
  buf = resolve(buf)
  local shown = M.suggestion_shown(buf)
  local where = inline.here(buf)
  if shown and ((inline.count(buf) or 0) > 1 or invoked_here[buf] == where) then
    inline.select(buf, step)
    return
  end
  invoked_here[buf] = where
  inline.request(buf, inline.INVOKED, function(count)
    if shown and count > 1 then
      inline.select(buf, step)
    end
  end)
end

--- Explain the function at the cursor (or lines `line1`-`line2`) in a floating window: the
--- model's short explanation, from the server's `codels/explain`; nothing is edited.
---@param buf? integer
---@param line1? integer
---@param line2? integer
function M.explain(buf, line1, line2)
  require('codels.explain').explain(resolve(buf), line1, line2)
end

--- Hide ghost text while a completion plugin's menu is open (nvim-cmp, blink.cmp: see the
--- README); `menu_closed()` shows it again.
function M.menu_opened()
  inline.hold(vim.api.nvim_get_current_buf(), 'plugin menu', true)
end

function M.menu_closed()
  inline.hold(vim.api.nvim_get_current_buf(), 'plugin menu', false)
end

--- A statusline component: '' without codels in the buffer, else e.g.
--- `codels: ready (qwen2.5-coder-0.5b, 612 ms)`, `codels: loading 40%`, `codels: snoozed 12 min`.
---@return string
function M.status()
  return status.text()
end

--- What `lhs` did before codels mapped it (buffer-local or global), to fall back on.
---@param lhs string
---@return table?
local function previous_mapping(lhs)
  local map = vim.fn.maparg(lhs, 'i', false, true)
  if type(map) ~= 'table' or vim.tbl_isempty(map) or (map.desc or ''):find('^codels') then
    return nil
  end
  return map
end

--- The keys for `lhs` when codels has nothing to do with it: the previous mapping, else the key.
---@param lhs string
---@param previous table?
---@return string
local function fall_back(lhs, previous)
  if not previous then
    return lhs
  end
  if previous.callback then
    if previous.expr == 1 then
      return previous.callback() or ''
    end
    vim.schedule(previous.callback)
    return ''
  end
  local rhs = previous.rhs or ''
  if previous.expr == 1 then
    return vim.api.nvim_eval(rhs)
  end
  if previous.noremap == 0 then
    vim.api.nvim_feedkeys(vim.keycode(rhs), 'im', false)
    return ''
  end
  return rhs
end

--- Map insert-mode `lhs` in `buf` to `action` when a suggestion is shown (or `always`), else to
--- what it was.
---@param buf integer
---@param lhs string|false
---@param description string
---@param action fun(buf: integer): boolean whether it handled the key
---@param always? boolean run `action` even when no suggestion is shown
local function map_key(buf, lhs, description, action, always)
  if not lhs or lhs == '' then
    return
  end
  local previous = previous_mapping(lhs)
  vim.keymap.set('i', lhs, function()
    if (always or M.suggestion_shown(buf)) and not inline.held(buf) and action(buf) then
      return ''
    end
    return fall_back(lhs, previous)
  end, { buffer = buf, expr = true, desc = 'codels: ' .. description })
end

---@param fn fun(buf: integer)
---@return fun(buf: integer): boolean
local function later(fn)
  return function(b)
    vim.schedule(function()
      fn(b)
    end)
    return true
  end
end

---@param buf integer
---@param keymaps codels.Keymaps
local function map_inline_keys(buf, keymaps)
  map_key(buf, keymaps.accept, 'accept the suggestion', M.accept)
  map_key(buf, keymaps.accept_word, 'accept the next word', M.accept_word)
  map_key(buf, keymaps.accept_line, 'accept the next line', M.accept_line)
  map_key(buf, keymaps.trigger, 'ask for suggestions', later(M.request), true)
  map_key(buf, keymaps.next, 'next suggestion', later(function(b)
    M.cycle(b, 1)
  end), true)
  map_key(buf, keymaps.prev, 'previous suggestion', later(function(b)
    M.cycle(b, -1)
  end), true)
  map_key(buf, keymaps.dismiss, 'dismiss the suggestion', later(M.dismiss))
end

-- -- Neovim 0.10/0.11: the completion menu --------------------------------------------------

--- Neovim 0.10/0.11 insert only the first word of a text-edit item (and no line breaks): put in
--- the whole suggestion once a codels item is accepted from the menu.
---@param buf integer
---@param client_id integer
local function complete_whole_text(buf, client_id)
  local item = vim.v.completed_item
  local lsp_item = vim.tbl_get(item or {}, 'user_data', 'nvim', 'lsp', 'completion_item')
  local client = vim.lsp.get_client_by_id(client_id)
  if not lsp_item or not client or lsp_item.detail ~= 'codels' or not lsp_item.textEdit then
    return
  end
  local new_text = lsp_item.textEdit.newText ---@type string
  local start = lsp_item.textEdit.range.start
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local line = vim.api.nvim_buf_get_lines(buf, start.line, start.line + 1, true)[1]
  local ok, start_col =
    pcall(vim.str_byteindex, line, client.offset_encoding or 'utf-16', start.character, false)
  if not ok then
    start_col = start.character
  end
  local lines = vim.split(new_text, '\n', { plain = true })
  vim.api.nvim_buf_set_text(buf, start.line, start_col, row - 1, col, lines)
  -- The end of the text put in: on its one line, past what stood before it.
  local last = #lines == 1 and start_col + #lines[1] or #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { start.line + #lines, last })
end

---@param client vim.lsp.Client
---@param buf integer
---@param opts codels.Options
local function use_completion_menu(client, buf, opts)
  if vim.lsp.completion and vim.lsp.completion.enable then
    vim.lsp.completion.enable(true, client.id, buf, { autotrigger = false })
  end
  vim.bo[buf].omnifunc = 'v:lua.vim.lsp.omnifunc'
  vim.api.nvim_create_autocmd('CompleteDone', {
    group = vim.api.nvim_create_augroup('codels.menu.' .. buf, { clear = true }),
    buffer = buf,
    callback = function()
      vim.schedule(function()
        complete_whole_text(buf, client.id)
      end)
    end,
  })
  local keymaps = opts.keymaps
  if keymaps and keymaps.next then
    vim.keymap.set('i', keymaps.next, '<C-x><C-o>', {
      buffer = buf,
      desc = 'codels: ask for a suggestion (completion menu)',
    })
  end
  local version = tostring(vim.version())
  messages.once_ever(
    'menu-' .. version,
    ('codels: ghost text needs Neovim 0.12 (this is %s), so codels suggestions come in the '
      .. 'completion menu instead: press %s or <C-x><C-o> in insert mode (<C-y> accepts).'):format(
      version,
      keymaps and keymaps.next or '<C-x><C-o>'
    ),
    vim.log.levels.INFO
  )
end

-- -- setup ----------------------------------------------------------------------------------

---@param opts codels.Options
local function warn_if_missing(opts)
  local cmd = M.config().cmd or opts.cmd
  if type(cmd) ~= 'table' or vim.fn.executable(cmd[1]) == 1 then
    return
  end
  messages.once(
    'missing:' .. cmd[1],
    ('codels: the server command `%s` was not found, so there are no completions. Install '
      .. 'codels (see its README) so that `%s` is on PATH, or give its full path: '
      .. "require('codels').setup({ cmd = { '/path/to/codels', '--stdio' } }). "
      .. ':checkhealth codels says more.'):format(cmd[1], cmd[1]),
    vim.log.levels.ERROR
  )
end

--- Start the server for `buf` the Neovim 0.10 way (0.11+ uses vim.lsp.enable).
---@param buf integer
---@param opts codels.Options
local function start_without_lsp_config(buf, opts)
  local config = config_from_runtimepath(opts)
  if type(config.cmd) == 'table' and vim.fn.executable(config.cmd[1]) == 0 then
    return
  end
  local name = vim.api.nvim_buf_get_name(buf)
  config.name = 'codels'
  config.root_dir = vim.fs.root(name ~= '' and name or buf, config.root_markers or { '.git' })
    or vim.fs.dirname(name)
  vim.lsp.start(config, { bufnr = buf })
end

--- Start the server again for `buffers` (after `:Codels restart` stopped it).
---@param buffers integer[]
function M.start(buffers)
  local opts = M.options or M.defaults
  if has_lsp_config() then
    vim.lsp.config('codels', config_overrides(opts))
    vim.lsp.enable('codels')
    return
  end
  for _, buf in ipairs(buffers) do
    if vim.api.nvim_buf_is_loaded(buf) then
      start_without_lsp_config(buf, opts)
    end
  end
end

--- Tell the server which buffer the person now looks at, and where the cursor is, so that it
--- evaluates the prompt there ahead (`codels/didFocus`; the `prefillOnOpen` setting): now, and
--- each time the buffer is entered again.
---@param client vim.lsp.Client
---@param buf integer
---@param group integer
local function focus_notifications(client, buf, group)
  local function notify()
    if client:is_stopped() or vim.api.nvim_get_current_buf() ~= buf then
      return
    end
    local params = vim.lsp.util.make_position_params(0, client.offset_encoding or 'utf-16')
    client:notify('codels/didFocus', { textDocument = params.textDocument, position = params.position })
  end
  vim.api.nvim_create_autocmd('BufEnter', {
    group = group,
    buffer = buf,
    -- Scheduled: Neovim puts the cursor back where it was in the buffer after BufEnter.
    callback = function()
      vim.schedule(notify)
    end,
  })
  notify()
end

--- Set codels up: start the server for Python buffers, ghost text, keys, commands, messages.
---@param opts? codels.Options
function M.setup(opts)
  opts = vim.tbl_deep_extend('force', {}, M.defaults, opts or {})
  M.options = opts
  local group = vim.api.nvim_create_augroup('codels', { clear = true })
  commands.define()
  status.watch()

  if has_lsp_config() then
    vim.lsp.config('codels', config_overrides(opts))
    vim.lsp.enable('codels')
  end
  local filetypes = M.config().filetypes or opts.filetypes or LANGUAGES
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = filetypes,
    callback = function(args)
      warn_if_missing(opts)
      if not has_lsp_config() then
        start_without_lsp_config(args.buf, opts)
      end
    end,
  })
  if not has_lsp_config() then
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(buf) and vim.tbl_contains(filetypes, vim.bo[buf].filetype) then
        start_without_lsp_config(buf, opts)
      end
    end
  end

  vim.api.nvim_create_autocmd('LspAttach', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if not client or client.name ~= 'codels' then
        return
      end
      status.refresh(client)
      focus_notifications(client, args.buf, group)
      if M.has_inline_completion() and opts.inline then
        -- In the buffers codels serves only, never for every client everywhere. (Neovim decides
        -- per buffer: a client-only switch leaves is_enabled() false, so nothing could turn
        -- it off again.)
        vim.lsp.inline_completion.enable(true, { bufnr = args.buf })
        inline.hide_for_menus_and_snippets(args.buf)
        if opts.keymaps then
          map_inline_keys(args.buf, opts.keymaps)
        end
      else
        use_completion_menu(client, args.buf, opts)
      end
    end,
  })

  -- Requests made while the model loads get an empty answer; ask again once it is ready.
  vim.api.nvim_create_autocmd('LspProgress', {
    group = group,
    pattern = 'end',
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if not client or client.name ~= 'codels' then
        return
      end
      local buf = vim.api.nvim_get_current_buf()
      if vim.api.nvim_get_mode().mode:sub(1, 1) == 'i' and client.attached_buffers[buf] then
        M.trigger(buf)
      end
    end,
  })
end

return M
