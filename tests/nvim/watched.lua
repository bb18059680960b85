-- A patterns file written from outside while Neovim runs takes effect on the next snippet;
-- with watching on, Neovim reports a settings file written meanwhile to the server.
-- Run by test_nvim_watched.py in headless Neovim with client-nvim on the runtime path:
--
--   nvim --headless -u NONE -i NONE -n --cmd 'set rtp^=<client-nvim>' -c 'luafile watched.lua'
--
-- Environment (as for scenario.lua): AILOOP_TEST_CMD, AILOOP_TEST_FILE, AILOOP_TEST_RESULT;
--   AILOOP_TEST_PATTERNS  the patterns file to write while the editor runs
--   AILOOP_TEST_WATCH     "1": the client watches files for the server (dynamicRegistration,
--                         which Neovim 0.11 turns off by default on Linux); else it does not
-- Everything runs inside xpcall: a Lua error would otherwise leave headless Neovim waiting.

local WAIT_MS = 20000
local result = { ok = false, nvim = tostring(vim.version()) }

local function wait_for(what, predicate)
  if not vim.wait(WAIT_MS, predicate, 20) then
    error('timed out waiting for ' .. what, 0)
  end
end

local PATTERNS = [==[
[[pattern]]
id = "print-call"
title = "print left in"
languages = ["python"]
regex = 'print\('
]==]

local function snippet(n)
  return {
    ('def handler_%d(request):'):format(n),
    ('    """Handle request %d."""'):format(n),
    ('    print(request, %d)'):format(n),
    ('    return %d'):format(n),
  }
end

-- Insert snippet(n) before line `first` (default: append; one change); wait for its marker.
local function insert(bufnr, n, first)
  first = first or vim.api.nvim_buf_line_count(bufnr)
  vim.api.nvim_buf_set_lines(bufnr, first, first, false, snippet(n))
  wait_for('the marker of snippet ' .. n, function()
    for _, d in ipairs(require('ailoop').markers(bufnr)) do
      if d.lnum == first then return true end
    end
    return false
  end)
  return first
end

-- The pattern keys the code actions on `line` offer (Reject: … with a pattern).
local function pattern_keys(bufnr, line)
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    range = { start = { line = line, character = 0 }, ['end'] = { line = line, character = 0 } },
    context = { diagnostics = {} },
  }
  local keys = {}
  for _, answer in pairs(vim.lsp.buf_request_sync(bufnr, 'textDocument/codeAction', params, 5000) or {}) do
    for _, action in ipairs(answer.result or {}) do
      local command = type(action.command) == 'table' and action.command or action
      for _, argument in ipairs(command.arguments or {}) do
        if type(argument) == 'table' and argument.pattern then
          table.insert(keys, argument.pattern)
        end
      end
    end
  end
  table.sort(keys)
  return keys
end

local function run()
  local watch = os.getenv('AILOOP_TEST_WATCH') == '1'
  local registrations = {}
  local register = vim.lsp.handlers['client/registerCapability']
  vim.lsp.handlers['client/registerCapability'] = function(err, params, ctx, config)
    for _, registration in ipairs(params.registrations or {}) do
      table.insert(registrations, registration)
    end
    return register(err, params, ctx, config)
  end
  require('ailoop').setup({ cmd = vim.fn.json_decode(os.getenv('AILOOP_TEST_CMD')) })
  if watch then -- what a user writes to turn watching on
    vim.lsp.config('ailoop', {
      capabilities = { workspace = { didChangeWatchedFiles = { dynamicRegistration = true } } },
    })
  end
  vim.cmd('edit ' .. vim.fn.fnameescape(os.getenv('AILOOP_TEST_FILE')))
  local bufnr = vim.api.nvim_get_current_buf()
  local ailoop = require('ailoop')
  wait_for('the ailoop client to attach', function()
    local client = ailoop.client(bufnr)
    return client ~= nil and client.initialized ~= false and client.server_capabilities ~= nil
  end)
  local client = ailoop.client(bufnr)
  local reported = {}
  if watch then -- 0.11: what Neovim's watcher sends the server
    local notify = client.notify
    client.notify = function(self, method, params)
      if method == 'workspace/didChangeWatchedFiles' then
        for _, change in ipairs(params.changes) do table.insert(reported, change.uri) end
      end
      return notify(self, method, params)
    end
    wait_for('the server to register its watchers', function() return #registrations > 0 end)
  end
  result.registrations = registrations

  local first = insert(bufnr, 1)
  result.before = pattern_keys(bufnr, first + 2)

  local patterns = os.getenv('AILOOP_TEST_PATTERNS')
  local out = assert(io.open(patterns, 'w'))
  out:write(PATTERNS)
  out:close()
  if watch then -- Neovim reports the settings file (on Linux it watches no .ailoop/ folder)
    local settings = vim.fn.fnamemodify(patterns, ':h:h') .. '/.ailoop.toml'
    local f = assert(io.open(settings, 'w'))
    f:write('[detect]\nmin_lines = 3\n')
    f:close()
    local uri = vim.uri_from_fname(settings)
    wait_for('Neovim to report the new settings file', function()
      return vim.tbl_contains(reported, uri)
    end)
  end
  result.reported = reported

  local second = insert(bufnr, 2, 0) -- at the top: away from the first snippet
  wait_for('the new pattern on the next snippet', function()
    return #pattern_keys(bufnr, second + 2) > 0
  end)
  result.after = pattern_keys(bufnr, second + 2)
  vim.cmd('write')
end

local ok, err = xpcall(run, debug.traceback)
result.ok = ok
result.error = ok and vim.NIL or tostring(err)
local compat = require('ailoop.compat')
for _, c in ipairs(compat.get_clients()) do compat.stop(c) end
vim.wait(5000, function() return #compat.get_clients() == 0 end, 20)
local f = assert(io.open(os.getenv('AILOOP_TEST_RESULT'), 'w'))
f:write(vim.fn.json_encode(result))
f:close()
if ok then vim.cmd('qall!') else vim.cmd('cquit 1') end
