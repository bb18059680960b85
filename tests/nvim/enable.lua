-- Neovim 0.11+ with no setup(): the user's init.lua only puts client-nvim on the runtime
-- path and calls vim.lsp.enable('ailoop') (lsp/ailoop.lua is the config, plugin/ailoop.lua
-- the commands and LspAttach). Run by test_nvim_enable.py in real headless Neovim:
--
--   nvim --headless -u <init.lua> -i NONE -n -c 'luafile enable.lua'
--
-- Environment: AILOOP_TEST_SCENARIO (project | lone | stats | tsx), AILOOP_TEST_FILE (the file
-- to open), AILOOP_TEST_OTHER (lone: a second lone file in another directory),
-- AILOOP_TEST_RESULT. Everything runs inside xpcall: a Lua error would otherwise leave
-- headless Neovim waiting.

local WAIT_MS = 30000
local result = { ok = false, nvim = tostring(vim.version()) }

local function wait_for(what, predicate)
  if not vim.wait(WAIT_MS, predicate, 20) then
    error('timed out waiting for ' .. what, 0)
  end
end

local SNIPPET = {
  'def parse_port(value):',
  '    try:',
  '        return int(value)',
  '    except:',
  '        return 8080',
}

local function codes(d)
  local lsp = d.user_data and d.user_data.lsp or {}
  local data = type(lsp.data) == 'table' and lsp.data or {}
  local out = type(data.codes) == 'table' and vim.deepcopy(data.codes) or {}
  table.insert(out, d.code or lsp.code)
  return out
end

-- ailoop's diagnostics in `bufnr`: { lnum, code, codes }.
local function ailoop_diagnostics(bufnr)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if d.source == 'ailoop' then
      table.insert(out, { lnum = d.lnum, code = d.code, codes = codes(d) })
    end
  end
  return out
end

local function has_code(bufnr, prefix)
  for _, d in ipairs(ailoop_diagnostics(bufnr)) do
    for _, code in ipairs(d.codes) do
      if type(code) == 'string' and code:sub(1, #prefix) == prefix then return true end
    end
  end
  return false
end

-- Open `path` and wait for the ailoop client (started by vim.lsp.enable) to attach.
local function open(path)
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
  local bufnr = vim.api.nvim_get_current_buf()
  local client
  wait_for('the ailoop client to attach to ' .. path, function()
    client = vim.lsp.get_clients({ name = 'ailoop', bufnr = bufnr })[1]
    return client ~= nil and client.initialized and client.server_capabilities ~= nil
  end)
  return bufnr, client
end

-- Append SNIPPET in one change; wait for the marker and ruff's finding (E722) in it.
local function insert_snippet(bufnr)
  local first = vim.api.nvim_buf_line_count(bufnr)
  vim.api.nvim_buf_set_lines(bufnr, first, first, false, SNIPPET)
  wait_for('the ai-snippet marker', function() return has_code(bufnr, 'ai-snippet') end)
  wait_for("ruff's finding in the snippet", function() return has_code(bufnr, 'ruff:') end)
  return first
end

local function client_view(client)
  local folders = {}
  for _, f in ipairs(client.workspace_folders or {}) do table.insert(folders, vim.uri_to_fname(f.uri)) end
  return { id = client.id, root_dir = client.config.root_dir or vim.NIL, workspace_folders = folders }
end

-- Direct children of this Neovim (the language servers it started).
local function children()
  local out = {}
  for pid in vim.fn.system({ 'pgrep', '-P', tostring(vim.fn.getpid()) }):gmatch('%d+') do
    table.insert(out, tonumber(pid))
  end
  return out
end

local function our_autocmds()
  local out = {}
  for _, au in ipairs(vim.api.nvim_get_autocmds({ group = 'ailoop' })) do
    table.insert(out, { event = au.event, buffer = au.buffer or vim.NIL })
  end
  return out
end

local function lenses(bufnr)
  local out = {}
  for _, lens in ipairs(vim.lsp.codelens.get(bufnr)) do
    if lens.command then table.insert(out, lens.command.title) end
  end
  return out
end

local scenarios = {}

-- A Python file in a git repository: root from the markers, marker + ruff's finding,
-- code lens (through plugin/ailoop.lua's LspAttach), and ailoop's autocommands in `ailoop`.
function scenarios.project()
  local bufnr, client = open(os.getenv('AILOOP_TEST_FILE'))
  result.client = client_view(client)
  result.first = insert_snippet(bufnr)
  result.diagnostics = ailoop_diagnostics(bufnr)
  wait_for('a code lens on the snippet', function() return #lenses(bufnr) > 0 end)
  result.lenses = lenses(bufnr)
  result.autocmds = our_autocmds()
  result.bufnr = bufnr
  result.commands = {
    stats = vim.fn.exists(':AiloopStats') == 2,
    trust = vim.fn.exists(':AiloopTrust') == 2,
  }
  result.handler = client.handlers['ailoop/status'] ~= nil
  result.children = children()
end

-- Two lone files in two directories, under no root marker: one client, no root, one server.
function scenarios.lone()
  local first, client = open(os.getenv('AILOOP_TEST_FILE'))
  insert_snippet(first)
  local second, other = open(os.getenv('AILOOP_TEST_OTHER'))
  result.same_client = client.id == other.id
  insert_snippet(second)
  result.clients = {}
  for _, c in ipairs(vim.lsp.get_clients({ name = 'ailoop' })) do
    table.insert(result.clients, client_view(c))
  end
  result.attached = {
    first = vim.lsp.get_clients({ name = 'ailoop', bufnr = first })[1].id,
    second = vim.lsp.get_clients({ name = 'ailoop', bufnr = second })[1].id,
  }
  result.children = children()
end

-- Accept a snippet, then :AiloopStats: a float with `ailoop stats` in it; `q` closes it.
function scenarios.stats()
  local bufnr = open(os.getenv('AILOOP_TEST_FILE'))
  local first = insert_snippet(bufnr)
  vim.api.nvim_win_set_cursor(0, { first + 2, 0 })
  local review = require('ailoop.review')
  local answered
  review.execute(review.at_cursor(), 'ailoop.accept', nil, function(err) answered = err or true end)
  wait_for('the answer to ailoop.accept', function() return answered ~= nil end)
  result.accept_error = answered ~= true and answered or vim.NIL
  local editor_win = vim.api.nvim_get_current_win()
  vim.cmd('AiloopStats')
  local float
  wait_for('the stats float', function()
    for _, win in ipairs(vim.api.nvim_list_wins()) do
      if vim.api.nvim_win_get_config(win).relative ~= ''
          and vim.bo[vim.api.nvim_win_get_buf(win)].filetype == 'ailoopstats' then
        float = win
        return true
      end
    end
    return false
  end)
  local buf = vim.api.nvim_win_get_buf(float)
  result.float = {
    current = vim.api.nvim_get_current_win() == float,
    relative = vim.api.nvim_win_get_config(float).relative,
    lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false),
    modifiable = vim.bo[buf].modifiable,
  }
  result.columns = vim.o.columns
  vim.api.nvim_feedkeys('q', 'x', false)
  result.closed = not vim.api.nvim_win_is_valid(float)
  result.back_in_editor = vim.api.nvim_get_current_win() == editor_win
end

-- A .tsx file in a trusted TS/React workspace (Biome and TypeScript 7 in its
-- node_modules/.bin): an AI insertion gets the marker, Biome's and TypeScript's findings,
-- and Reject by Biome's rule from the code-action menu records it.
local TSX_SNIPPET = {
  '',
  'export function Total(props: { items: any[] }) {',
  '  const count: number = "none";',
  '  return <p>{props.items.length + count}</p>;',
  '}',
}

function scenarios.tsx()
  local bufnr = open(os.getenv('AILOOP_TEST_FILE'))
  result.filetype = vim.bo[bufnr].filetype
  local first = vim.api.nvim_buf_line_count(bufnr)
  vim.api.nvim_buf_set_lines(bufnr, first, first, false, TSX_SNIPPET)
  wait_for('the ai-snippet marker', function() return has_code(bufnr, 'ai-snippet') end)
  wait_for("Biome's finding", function() return has_code(bufnr, 'biome:lint/suspicious/noExplicitAny') end)
  wait_for("TypeScript's finding", function() return has_code(bufnr, 'ts:2322') end)
  result.first = first
  result.diagnostics = ailoop_diagnostics(bufnr)
  local line
  for _, d in ipairs(result.diagnostics) do
    for _, code in ipairs(d.codes) do
      if code == 'biome:lint/suspicious/noExplicitAny' then line = d.lnum end
    end
  end
  vim.api.nvim_win_set_cursor(0, { line + 1, 0 })
  local offered, chosen = nil, nil
  vim.ui.select = function(items, _, on_choice)
    offered = {}
    for _, item in ipairs(items) do
      local action = item.action or item[2]
      table.insert(offered, action.title)
      if chosen == nil and action.title:find('^Reject:') and action.title:find('noExplicitAny') then
        chosen = item
      end
    end
    on_choice(chosen)
  end
  vim.lsp.buf.code_action()
  wait_for('the code-action menu', function() return offered ~= nil end)
  result.offered = offered
  if not chosen then error('no Reject action for noExplicitAny among ' .. vim.inspect(offered), 0) end
  wait_for('the marker to go', function() return not has_code(bufnr, 'ai-snippet') end)
end

local ok, err = xpcall(function()
  local scenario = scenarios[os.getenv('AILOOP_TEST_SCENARIO')]
  if not scenario then error('unknown scenario ' .. tostring(os.getenv('AILOOP_TEST_SCENARIO')), 0) end
  scenario()
end, debug.traceback)
result.ok = ok
result.error = ok and vim.NIL or tostring(err)
pcall(function()
  for _, c in ipairs(vim.lsp.get_clients()) do c:stop() end
  vim.wait(5000, function() return #vim.lsp.get_clients() == 0 end, 20)
end)
local f = assert(io.open(os.getenv('AILOOP_TEST_RESULT'), 'w'))
f:write(vim.fn.json_encode(result))
f:close()
vim.cmd(ok and 'qall!' or 'cquit 1')
