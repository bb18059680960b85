-- Reviewing a snippet whose marker is a hint on its first line only, in real Neovim:
-- deciding at the cursor from another line of the snippet, and "Reject and remove" from
-- the code-action menu, undone with `u`. Run by test_nvim_review.py in headless Neovim
-- with client-nvim on the runtime path:
--
--   nvim --headless -u NONE -i NONE -n --cmd 'set rtp^=<client-nvim>' -c 'luafile review.lua'
--
-- Environment (as for scenario.lua): AILOOP_TEST_SCENARIO (decide_inside or
-- reject_and_remove), AILOOP_TEST_CMD, AILOOP_TEST_FILE, AILOOP_TEST_RESULT.
-- Everything runs inside xpcall: a Lua error would otherwise leave headless Neovim waiting.

local WAIT_MS = 20000
local result = { ok = false, nvim = tostring(vim.version()) }

local function wait_for(what, predicate)
  if not vim.wait(WAIT_MS, predicate, 20) then
    error('timed out waiting for ' .. what, 0)
  end
end

local function buffer_text(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n') .. '\n'
end

local SNIPPET = {
  'def parse_port(value):',
  '    try:',
  '        return int(value)',
  '    except:',
  '        return 8080',
}

-- Open the file with ailoop attached, append SNIPPET in one change and wait for its marker.
local function open_and_insert()
  local ailoop = require('ailoop')
  ailoop.setup({ cmd = vim.fn.json_decode(os.getenv('AILOOP_TEST_CMD')) })
  vim.cmd('edit ' .. vim.fn.fnameescape(os.getenv('AILOOP_TEST_FILE')))
  local bufnr = vim.api.nvim_get_current_buf()
  wait_for('the ailoop client to attach', function()
    local client = ailoop.client(bufnr)
    return client ~= nil and client.initialized ~= false and client.server_capabilities ~= nil
  end)
  local before = buffer_text(bufnr)
  local first = vim.api.nvim_buf_line_count(bufnr)
  vim.cmd('let &undolevels = &undolevels') -- the insertion is an undo step of its own
  vim.api.nvim_buf_set_lines(bufnr, first, first, false, SNIPPET)
  local marker
  wait_for('the ai-snippet marker', function()
    marker = ailoop.markers(bufnr)[1]
    return marker ~= nil
  end)
  local review = require('ailoop.review')
  local from, to = review.snippet_lines(marker)
  result.marker = {
    lnum = marker.lnum, end_lnum = marker.end_lnum or marker.lnum, severity = marker.severity,
    snippet = review.snippet_id(marker), snippet_first = from, snippet_last = to,
  }
  result.first = first
  return bufnr, before, marker
end

local function wait_marker_gone(bufnr)
  wait_for('the marker to go', function() return #require('ailoop').markers(bufnr) == 0 end)
end

local scenarios = {}

-- The cursor on the snippet's last line (not the marked first line): accept it there.
function scenarios.decide_inside()
  local bufnr = open_and_insert()
  local last = result.first + #SNIPPET -- 1-based: the snippet's last line
  vim.api.nvim_win_set_cursor(0, { last, 4 })
  result.at_cursor = require('ailoop').snippet_at_cursor() ~= nil
  require('ailoop.review').accept()
  wait_marker_gone(bufnr)
end

-- "Reject and remove" from vim.lsp.buf.code_action(): the server's workspace/applyEdit
-- deletes the snippet; `u` brings it back.
function scenarios.reject_and_remove()
  local bufnr, before = open_and_insert()
  vim.api.nvim_win_set_cursor(0, { result.first + 3, 4 }) -- inside, below the marked line
  local offered
  vim.ui.select = function(items, _, on_choice)
    offered = {}
    local chosen
    for _, item in ipairs(items) do
      local action = item.action or item[2] -- 0.10+: {action, ctx}; 0.7–0.9: {client_id, action}
      table.insert(offered, action.title)
      if chosen == nil and action.title:find('^Reject and remove') then chosen = item end
    end
    vim.cmd('let &undolevels = &undolevels') -- the removal is an undo step of its own
    on_choice(chosen)
  end
  vim.lsp.buf.code_action()
  wait_for('the code-action menu', function() return offered ~= nil end)
  result.offered = offered
  wait_for('the snippet to be removed', function() return buffer_text(bufnr) == before end)
  wait_marker_gone(bufnr)
  result.removed = true
  -- a request sends the pending didChange first: the removal reaches the server on its own
  vim.lsp.buf_request_sync(bufnr, 'textDocument/codeLens',
    { textDocument = vim.lsp.util.make_text_document_params() }, WAIT_MS)
  vim.cmd('undo')
  result.restored = buffer_text(bufnr) == before .. table.concat(SNIPPET, '\n') .. '\n'
  result.restored_text = buffer_text(bufnr)
  -- the undo is no new snippet: a later insertion is marked, the restored text is not
  vim.api.nvim_buf_set_lines(bufnr, 0, 0, false, { 'def later(a):', '    b = a * 2', '    return b', '' })
  wait_for('the later snippet', function() return #require('ailoop').markers(bufnr) > 0 end)
  local lines = {}
  for _, d in ipairs(require('ailoop').markers(bufnr)) do table.insert(lines, d.lnum) end
  result.markers_after_undo = lines
end

local function stop_clients()
  local compat = require('ailoop.compat')
  for _, client in ipairs(compat.get_clients()) do compat.stop(client) end
  vim.wait(5000, function() return #compat.get_clients() == 0 end, 20)
end

local ok, err = xpcall(function()
  local name = os.getenv('AILOOP_TEST_SCENARIO')
  local scenario = scenarios[name]
  if not scenario then error('unknown scenario ' .. tostring(name), 0) end
  scenario()
end, debug.traceback)
result.ok = ok
result.error = ok and vim.NIL or tostring(err)
pcall(stop_clients)
local f = assert(io.open(os.getenv('AILOOP_TEST_RESULT'), 'w'))
f:write(vim.fn.json_encode(result))
f:close()
if ok then
  vim.cmd('qall!')
else
  io.stderr:write('review.lua failed: ' .. tostring(err) .. '\n')
  vim.cmd('cquit 1')
end
