-- ailoop.status: the server's `ailoop/status` notification and a statusline function.
--
-- The handler keeps the latest status per client and fires `User AiloopStatus`;
-- `statusline()` shows the AI snippets pending review in the current buffer (counted
-- from ailoop's marker diagnostics, so it is right even before the first status
-- arrives) and the server's own short status text, if it sent one.

local compat = require('ailoop.compat')
local review = require('ailoop.review')

local M = {}

--- Latest `ailoop/status` params per client id (cleared when the client exits).
M.latest = {}

--- Handler for the `ailoop/status` notification (register it in the client's handlers).
function M.handler(_, params, ctx)
  M.latest[ctx.client_id] = type(params) == 'table' and params or {}
  pcall(vim.api.nvim_exec_autocmds, 'User', { pattern = 'AiloopStatus', modeline = false })
  vim.cmd('redrawstatus')
end

--- Forget a client's status (call from on_exit).
function M.forget(client_id)
  M.latest[client_id] = nil
end

--- The latest status the ailoop client attached to `bufnr` sent, or nil.
---@param bufnr integer|nil
---@return table|nil
function M.get(bufnr)
  local client = compat.get_clients({ name = review.CLIENT_NAME, bufnr = bufnr or 0 })[1]
  return client and M.latest[client.id] or nil
end

--- Pure formatting: the statusline text for `pending` markers and a status table.
--- The server's status may carry `text` (shown as is) or `message`; `pending`
--- from the buffer wins over a server-wide count.
---@param pending integer
---@param status table|nil
---@return string
function M.format(pending, status)
  local parts = { 'ailoop' }
  if pending > 0 then
    table.insert(parts, ('%d pending'):format(pending))
  end
  if status then
    local text = status.text or status.message
    if type(text) == 'string' and text ~= '' then
      table.insert(parts, text)
    end
  end
  return table.concat(parts, ' · ')
end

--- Statusline component: '' when ailoop is not attached to the current buffer,
--- else e.g. "ailoop · 2 pending · synced". Use it as
---   vim.o.statusline = "%f %=%{v:lua.require'ailoop'.statusline()}"
---@return string
function M.statusline()
  local bufnr = vim.api.nvim_get_current_buf()
  if #compat.get_clients({ name = review.CLIENT_NAME, bufnr = bufnr }) == 0 then
    return ''
  end
  return M.format(#review.markers(bufnr), M.get(bufnr))
end

return M
