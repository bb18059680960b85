-- Insertions next to a snippet, and outcomes when Neovim quits, in real headless Neovim.
-- Run by test_nvim_capture.py with client-nvim on the runtime path:
--
--   nvim --headless -u NONE -i NONE -n --cmd 'set rtp^=<client-nvim>' -c 'filetype on' \
--     -c 'luafile capture.lua'
--
-- Environment: AILOOP_TEST_CMD, AILOOP_TEST_FILE, AILOOP_TEST_RESULT (as for scenario.lua);
--   AILOOP_TEST_SCENARIO  adjacent | write_quit | edit_and_kill | reopen
-- The scenarios that end with `:q` quit as a user does: no client is stopped first, and
-- Neovim sends no didClose. Everything runs inside xpcall: a Lua error would otherwise
-- leave headless Neovim waiting.

local WAIT_MS = 20000
local result = { ok = false, nvim = tostring(vim.version()) }

local function wait_for(what, predicate)
  if not vim.wait(WAIT_MS, predicate, 20) then
    error('timed out waiting for ' .. what, 0)
  end
end

local FIRST = { 'def first(x):', '    y = x + 1', '    z = y * 2', '    return z' }
local SECOND = { 'def second(x):', '    y = x - 1', '    z = y * 3', '    return z' }
local THIRD = { 'def third(x):', '    y = x * 5', '    z = y - 4', '    return z' }

local function lsp_data(d)
  local lsp = d.user_data and d.user_data.lsp or {}
  return type(lsp.data) == 'table' and lsp.data or {}
end

-- The markers of the buffer: { snippet, state, first line, message }, by line.
local function markers(bufnr)
  local out = {}
  for _, d in ipairs(require('ailoop').markers(bufnr)) do
    local data = lsp_data(d)
    table.insert(out, { snippet = data.snippet, state = data.state, lnum = d.lnum, message = d.message })
  end
  table.sort(out, function(a, b) return a.lnum < b.lnum end)
  return out
end

local function wait_markers(bufnr, count)
  wait_for(count .. ' markers', function() return #markers(bufnr) == count end)
end

local function open()
  require('ailoop').setup({ cmd = vim.fn.json_decode(os.getenv('AILOOP_TEST_CMD')) })
  vim.cmd('edit ' .. vim.fn.fnameescape(os.getenv('AILOOP_TEST_FILE')))
  local bufnr = vim.api.nvim_get_current_buf()
  local ailoop = require('ailoop')
  wait_for('the ailoop client to attach', function()
    local client = ailoop.client(bufnr)
    return client ~= nil and client.initialized ~= false and client.server_capabilities ~= nil
  end)
  return bufnr
end

local function put(register, lines, command)
  vim.fn.setreg(register, lines, 'l')
  vim.cmd(command)
end

local scenarios = {}

-- `:1put a`, `:5put b` right under it, and nvim_buf_set_lines appending under that one.
function scenarios.adjacent()
  local bufnr = open()
  put('a', FIRST, '1put a') -- lines 2-5
  wait_markers(bufnr, 1)
  put('b', SECOND, '5put b') -- lines 6-9, right under the first
  wait_markers(bufnr, 2)
  vim.api.nvim_buf_set_lines(bufnr, 9, 9, false, THIRD) -- lines 10-13, right under the second
  wait_markers(bufnr, 3)
  result.markers = markers(bufnr)
  vim.cmd('write')
end

-- `:1put a`, then `:w` and `:q`.
function scenarios.write_quit()
  local bufnr = open()
  put('a', FIRST, '1put a')
  wait_markers(bufnr, 1)
  result.markers = markers(bufnr)
  vim.cmd('write')
  return 'quit'
end

-- `:1put a`, an edit inside it, `:w`; then the server is killed: the snippet has no outcome.
function scenarios.edit_and_kill()
  local bufnr = open()
  put('a', FIRST, '1put a')
  wait_markers(bufnr, 1)
  vim.api.nvim_buf_set_text(bufnr, 2, 12, 2, 13, { '10' }) -- y = x + 10
  wait_for('the modified event (the marker shows the similarity)', function()
    local found = markers(bufnr)
    return #found == 1 and found[1].message:find('%% as generated') ~= nil
  end)
  vim.cmd('write')
  result.markers = markers(bufnr)
  local server = vim.fn.system({ 'pgrep', '-P', tostring(vim.fn.getpid()) })
  for pid in server:gmatch('%d+') do
    vim.loop.kill(tonumber(pid), 9) -- SIGKILL: no teardown, no outcome
  end
  return 'kill'
end

-- Open the file again: its edited snippet is picked up; then `:q`.
function scenarios.reopen()
  local bufnr = open()
  wait_markers(bufnr, 1)
  result.markers = markers(bufnr)
  return 'quit'
end

local ending
local ok, err = xpcall(function()
  ending = scenarios[os.getenv('AILOOP_TEST_SCENARIO')]()
end, debug.traceback)
result.ok = ok
result.error = ok and vim.NIL or tostring(err)
local f = assert(io.open(os.getenv('AILOOP_TEST_RESULT'), 'w'))
f:write(vim.fn.json_encode(result))
f:close()
if not ok then
  vim.cmd('cquit 1')
elseif ending == 'quit' then
  vim.cmd('quit') -- as a user quits: Neovim sends no didClose
else
  local compat = require('ailoop.compat')
  for _, c in ipairs(compat.get_clients()) do compat.stop(c) end
  vim.wait(5000, function() return #compat.get_clients() == 0 end, 20)
  vim.cmd('qall!')
end
