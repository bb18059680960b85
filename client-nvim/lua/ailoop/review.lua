-- ailoop.review: accept or reject the AI snippet under the cursor, optionally with a note.
--
-- The snippet is found through ailoop's own marker diagnostic (source "ailoop",
-- code "ai-snippet", data.snippet = its id, data.range = the whole snippet, as the marker
-- itself may cover its first line only) and the decision goes to the server as
-- workspace/executeCommand ailoop.accept / ailoop.reject {uri, snippet, reason?}.

local compat = require('ailoop.compat')

local M = {}

M.CLIENT_NAME = 'ailoop'
M.MARKER_CODE = 'ai-snippet'

--- The LSP form of a vim.diagnostic entry, wherever this Neovim keeps it.
local function lsp_diagnostic(d)
  return d.user_data and d.user_data.lsp or {}
end

--- True when `d` (a vim.diagnostic entry) is ailoop's marker of a tracked snippet.
---@param d table
---@return boolean
function M.is_marker(d)
  local code = d.code or lsp_diagnostic(d).code
  return d.source == M.CLIENT_NAME and code == M.MARKER_CODE
end

--- The snippet id a marker diagnostic carries (data.snippet), or nil.
---@param d table
---@return string|nil
function M.snippet_id(d)
  local data = lsp_diagnostic(d).data
  return type(data) == 'table' and data.snippet or nil
end

--- Every ailoop marker in a buffer (vim.diagnostic entries, 0-based lnum/end_lnum).
---@param bufnr integer|nil
---@return table[]
function M.markers(bufnr)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr or 0)) do
    if M.is_marker(d) and M.snippet_id(d) then
      table.insert(out, d)
    end
  end
  return out
end

--- The 0-based first and last line of the snippet a marker stands for: its data.range
--- (the whole snippet) when it carries a valid one, else the diagnostic's own lines.
---@param d table
---@return integer, integer, integer
function M.snippet_lines(d)
  local data = lsp_diagnostic(d).data
  local whole = type(data) == 'table' and data.range or nil
  local first, last, end_col = d.lnum, d.end_lnum or d.lnum, d.end_col or 0
  if type(whole) == 'table' and type(whole.start) == 'table' and type(whole['end']) == 'table'
      and type(whole.start.line) == 'number' and type(whole['end'].line) == 'number' then
    first, last, end_col = whole.start.line, whole['end'].line, whole['end'].character or 0
  end
  return first, last, end_col
end

--- True when 0-based line `row` is one of the lines of the snippet marker `d` stands for
--- (a snippet is reviewed line-wise: the cursor anywhere on one of its lines selects it).
--- A range that ends at column 0 of a line does not cover that line.
local function covers(d, row)
  local first, last, end_col = M.snippet_lines(d)
  if last > first and end_col == 0 then
    last = last - 1
  end
  return row >= first and row <= last
end

--- The snippet under the cursor of window `winid` (default: current window):
--- `{ bufnr, uri, snippet, client, diagnostic }`, or nil when there is none.
---@param winid integer|nil
---@return table|nil
function M.at_cursor(winid)
  winid = winid or vim.api.nvim_get_current_win()
  local bufnr = vim.api.nvim_win_get_buf(winid)
  local cursor = vim.api.nvim_win_get_cursor(winid)
  local row = cursor[1] - 1
  local client = compat.get_clients({ name = M.CLIENT_NAME, bufnr = bufnr })[1]
  if not client then
    return nil
  end
  for _, d in ipairs(M.markers(bufnr)) do
    if covers(d, row) then
      return {
        bufnr = bufnr,
        uri = vim.uri_from_bufnr(bufnr),
        snippet = M.snippet_id(d),
        client = client,
        diagnostic = d,
      }
    end
  end
  return nil
end

--- The message for an accept/reject answer the store has not taken yet.
M.NOT_DURABLE = 'ailoop: outcome saved to journal, not yet in the store'

--- Tell the user when the server answered an accept/reject with `durable = false`: the
--- outcome is safe on disk (a journal) and is written to the store later.
---@param result table|nil the command's answer
function M.notify_durability(result)
  if type(result) == 'table' and result.durable == false then
    vim.notify(M.NOT_DURABLE, vim.log.levels.WARN)
  end
end

--- Run ailoop.accept / ailoop.reject for `target` (as returned by at_cursor).
--- `extra` adds fields to the command's argument (reason, pattern).
--- `on_done(err)` is called once the server answered (err is nil on success).
---@param target table
---@param command string 'ailoop.accept'|'ailoop.reject'
---@param extra table|nil
---@param on_done fun(err: table|nil)|nil
function M.execute(target, command, extra, on_done)
  local argument = { uri = target.uri, snippet = target.snippet }
  for k, v in pairs(extra or {}) do
    argument[k] = v
  end
  local params = { command = command, arguments = { argument } }
  compat.request(target.client, 'workspace/executeCommand', params, function(err, result)
    if err then
      vim.notify(('ailoop: %s failed: %s'):format(command, err.message or vim.inspect(err)), vim.log.levels.ERROR)
    else
      M.notify_durability(result)
    end
    if on_done then
      on_done(err)
    end
  end, target.bufnr)
end

local function with_target(fn)
  local target = M.at_cursor()
  if not target then
    vim.notify('ailoop: no AI snippet under the cursor', vim.log.levels.WARN)
    return
  end
  fn(target)
end

--- Accept the AI snippet under the cursor.
function M.accept()
  with_target(function(target)
    M.execute(target, 'ailoop.accept')
  end)
end

--- Reject the AI snippet under the cursor; `reason` is optional free text.
---@param reason string|nil
function M.reject(reason)
  with_target(function(target)
    M.execute(target, 'ailoop.reject', { reason = reason })
  end)
end

--- Ask for a note with vim.ui.input, then reject the AI snippet under the cursor with it.
--- Cancelling the prompt rejects nothing; an empty note rejects without a reason.
---@param opts { prompt?: string, on_done?: fun(err: table|nil) }|nil
function M.reject_with_note(opts)
  opts = opts or {}
  with_target(function(target)
    vim.ui.input({ prompt = opts.prompt or 'Reject AI snippet, because: ' }, function(note)
      if note == nil then
        return
      end
      local reason = vim.trim(note)
      M.execute(target, 'ailoop.reject', { reason = reason ~= '' and reason or nil }, opts.on_done)
    end)
  end)
end

return M
