-- ailoop.copilot: tell ailoop that an insertion came from an AI tool, by wrapping the
-- key that accepts the tool's suggestion.
--
-- Before the suggestion is committed, the wrapper sends the notification
-- `ailoop/generated {uri, tool}` through the ailoop client of the current buffer, so
-- the server attributes the insertion that follows to that tool (source "client").
-- Neovim sends notifications in order and debounces didChange, so the notification
-- always reaches the server before the inserted text does.

local compat = require('ailoop.compat')
local review = require('ailoop.review')

local M = {}

--- Send `ailoop/generated {uri, tool, text?}` for buffer `bufnr` (default: current).
--- Returns false when ailoop is not attached to that buffer.
---@param tool string e.g. 'copilot'
---@param opts { bufnr?: integer, text?: string }|nil
---@return boolean sent
function M.notify_generated(tool, opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local client = compat.get_clients({ name = review.CLIENT_NAME, bufnr = bufnr })[1]
  if not client then
    return false
  end
  local params = { uri = vim.uri_from_bufnr(bufnr), tool = tool }
  if opts.text and opts.text ~= '' then
    params.text = opts.text
  end
  return compat.notify(client, 'ailoop/generated', params) ~= false
end

--- Wrap any "accept the suggestion" function: when `is_visible()` says a suggestion is
--- shown, notify ailoop (tool `tool`) and call `accept()`; otherwise call `fallback()`
--- if given. Returns the function to map.
---@param tool string
---@param spec { accept: fun(), is_visible: fun(): boolean, fallback?: fun() }
---@return fun()
function M.wrap_accept(tool, spec)
  return function()
    if spec.is_visible() then
      M.notify_generated(tool)
      spec.accept()
    elseif spec.fallback then
      spec.fallback()
    end
  end
end

--- For copilot.lua (zbirenbaum/copilot.lua): a function for an insert-mode mapping
--- that reports and accepts the visible suggestion, or types `fallback_key` (e.g.
--- '<Tab>') when none is shown. Turn off copilot.lua's own accept key
--- (suggestion.keymap.accept = false) and map this instead:
---   vim.keymap.set('i', '<Tab>', require('ailoop').copilot_lua_accept('<Tab>'))
---@param fallback_key string|nil
---@return fun()
function M.copilot_lua_accept(fallback_key)
  return M.wrap_accept('copilot', {
    is_visible = function()
      return require('copilot.suggestion').is_visible()
    end,
    accept = function()
      require('copilot.suggestion').accept()
    end,
    fallback = fallback_key and function()
      local keys = vim.api.nvim_replace_termcodes(fallback_key, true, false, true)
      vim.api.nvim_feedkeys(keys, 'n', false)
    end or nil,
  })
end

--- For copilot.vim (github/copilot.vim): an expression-mapping function that reports
--- the displayed suggestion and returns copilot#Accept(fallback_key). Map it with
--- expr = true, replace_keycodes = false, after `vim.g.copilot_no_tab_map = true`:
---   vim.keymap.set('i', '<Tab>', require('ailoop').copilot_vim_accept('\t'),
---                  { expr = true, replace_keycodes = false })
---@param fallback_key string|nil keys copilot#Accept returns when nothing is shown
---@return fun(): string
function M.copilot_vim_accept(fallback_key)
  return function()
    local shown = vim.fn['copilot#GetDisplayedSuggestion']()
    if type(shown) == 'table' and type(shown.text) == 'string' and shown.text ~= '' then
      M.notify_generated('copilot')
    end
    if fallback_key then
      return vim.fn['copilot#Accept'](fallback_key)
    end
    return vim.fn['copilot#Accept']()
  end
end

return M
