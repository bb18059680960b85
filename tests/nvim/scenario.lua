-- Drives one end-to-end scenario in a real, headless Neovim (0.7.2 or 0.11.x) with
-- ailoop attached through client-nvim's require('ailoop').setup(), and writes what it
-- observed as JSON. The pytest side (test_nvim_e2e.py) starts it and judges the result,
-- together with the events the server recorded (`ailoop events --format jsonl`).
--
--   nvim --headless -u NONE -i NONE -n --cmd 'set rtp^=<client-nvim>' -c 'luafile scenario.lua'
--
-- Environment:
--   AILOOP_TEST_SCENARIO  name of a function in `scenarios` below
--   AILOOP_TEST_CMD       JSON array: the server command
--   AILOOP_TEST_FILE      the Python file to open (inside a workspace with pyproject.toml)
--   AILOOP_TEST_RESULT    where to write the JSON result
--   AILOOP_TEST_NOTE      the note typed into vim.ui.input (reject_with_note)
--   AILOOP_TEST_MARKER    a file the workspace's command engine writes when it runs (trust_*)
--   AILOOP_TEST_ANSWER    the action picked in the server's trust prompt (trust_*)
--
-- A Lua error outside xpcall would leave headless Neovim waiting forever, so everything
-- runs inside xpcall, and the runner also puts a timeout on the process.

local WAIT_MS = 20000
local result = { ok = false, nvim = tostring(vim.version().major .. '.' .. vim.version().minor .. '.' ..
  vim.version().patch), steps = {} }

local function note(name, value)
  table.insert(result.steps, name)
  result[name] = value == nil and vim.NIL or value
end

local function write_result()
  local path = os.getenv('AILOOP_TEST_RESULT')
  local f = assert(io.open(path, 'w'))
  f:write(vim.fn.json_encode(result))
  f:close()
end

-- vim.wait keeps the event loop (and so the LSP client) running while it polls.
local function wait_for(what, predicate, ms)
  if not vim.wait(ms or WAIT_MS, predicate, 20) then
    error('timed out waiting for ' .. what, 0)
  end
end

local function buffer_text(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n') .. '\n'
end

local function marker_view(d)
  local ailoop = require('ailoop')
  return {
    lnum = d.lnum, end_lnum = d.end_lnum, end_col = d.end_col,
    message = d.message, severity = d.severity, snippet = require('ailoop.review').snippet_id(d),
    source = d.source, code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code),
    at_cursor = ailoop.snippet_at_cursor() ~= nil,
  }
end

-- Edit the test file and wait for an ailoop client to attach and initialize.
local function edit_and_wait_attached()
  local ailoop = require('ailoop')
  vim.cmd('edit ' .. vim.fn.fnameescape(os.getenv('AILOOP_TEST_FILE')))
  local bufnr = vim.api.nvim_get_current_buf()
  wait_for('the ailoop client to attach and initialize', function()
    local client = ailoop.client(bufnr)
    return client ~= nil and client.initialized ~= false and client.server_capabilities ~= nil
  end)
  local client = ailoop.client(bufnr)
  note('attached', { name = client.name, root_dir = client.config.root_dir, filetype = vim.bo[bufnr].filetype })
  return bufnr, client
end

-- Open the file with ailoop attached through setup(); returns bufnr, client.
local function open_with_ailoop()
  require('ailoop').setup({ cmd = vim.fn.json_decode(os.getenv('AILOOP_TEST_CMD')) })
  return edit_and_wait_attached()
end

local SNIPPET = {
  'def parse_pairs(text):',
  '    """Split "a=1,b=2" into a dict — keys like "café" or "☕" too."""',
  '    pairs = {}',
  '    for item in text.split(","):',
  '        key, _, value = item.partition("=")',
  '        pairs[key.strip()] = value.strip()',
  '    return pairs',
}

-- Append SNIPPET after the last line (one nvim_buf_set_lines call, i.e. one change),
-- then wait for ailoop's marker on it.
local function insert_snippet(bufnr)
  local first = vim.api.nvim_buf_line_count(bufnr)
  vim.api.nvim_buf_set_lines(bufnr, first, first, false, SNIPPET)
  local ailoop = require('ailoop')
  wait_for('the ai-snippet marker', function()
    for _, d in ipairs(ailoop.markers(bufnr)) do
      if d.lnum == first then return true end
    end
    return false
  end)
  for _, d in ipairs(ailoop.markers(bufnr)) do
    if d.lnum == first then
      vim.api.nvim_win_set_cursor(0, { first + 2, 4 }) -- a line inside the snippet
      return d, first
    end
  end
end

local function wait_marker_gone(bufnr, snippet)
  local review = require('ailoop.review')
  wait_for('the marker to go after the decision', function()
    for _, d in ipairs(review.markers(bufnr)) do
      if review.snippet_id(d) == snippet then return false end
    end
    return true
  end)
end

local function lenses_on(bufnr, lnum)
  local out = {}
  for _, lens in ipairs(vim.lsp.codelens.get(bufnr)) do
    if lens.range.start.line == lnum and lens.command then
      table.insert(out, { title = lens.command.title, command = lens.command.command })
    end
  end
  return out
end

local scenarios = {}

-- Insert a snippet, see marker + code lens + statusline, reject it through
-- vim.lsp.buf.code_action() (the user's code-action menu, picked in vim.ui.select).
function scenarios.reject_code_action()
  local bufnr, client = open_with_ailoop()
  -- count the server's workspace/codeLens/refresh requests reaching client-nvim's handler
  local refreshes = 0
  local refresh = client.handlers['workspace/codeLens/refresh']
  client.handlers['workspace/codeLens/refresh'] = function(...)
    refreshes = refreshes + 1
    return refresh(...)
  end
  local marker, first = insert_snippet(bufnr)
  note('marker', marker_view(marker))
  note('snippet_text', table.concat(SNIPPET, '\n') .. '\n')
  note('statusline', require('ailoop').statusline())
  wait_for('a code lens on the snippet line', function() return #lenses_on(bufnr, first) > 0 end)
  note('lenses', lenses_on(bufnr, first))
  wait_for('workspace/codeLens/refresh from the server', function() return refreshes > 0 end)
  note('codelens_refreshes', refreshes)

  local offered, chosen = nil, nil
  vim.ui.select = function(items, _, on_choice)
    offered = {}
    for _, item in ipairs(items) do
      local action = item.action or item[2] -- 0.10+: {action, ctx}; 0.7–0.9: {client_id, action}
      table.insert(offered, action.title)
      if chosen == nil and action.title:find('^Reject AI snippet') then chosen = item end
    end
    on_choice(chosen)
  end
  vim.lsp.buf.code_action()
  wait_for('the code-action menu', function() return offered ~= nil end)
  note('offered', offered)
  if not chosen then error('no "Reject AI snippet" action among ' .. vim.inspect(offered), 0) end
  wait_marker_gone(bufnr, marker_view(marker).snippet)
  wait_for('the code lens to go', function() return #lenses_on(bufnr, first) == 0 end)
  note('statusline_after', require('ailoop').statusline())
  note('text', buffer_text(bufnr))
end

-- Accept through the code lens on the snippet's first line (run_codelens, picked in
-- vim.ui.select among ailoop's lenses).
function scenarios.accept_code_lens()
  local bufnr = open_with_ailoop()
  local marker, first = insert_snippet(bufnr)
  note('marker', marker_view(marker))
  wait_for('a code lens on the snippet line', function() return #lenses_on(bufnr, first) > 0 end)
  note('lenses', lenses_on(bufnr, first))
  vim.api.nvim_win_set_cursor(0, { first + 1, 0 })
  local offered
  vim.ui.select = function(items, opts, on_choice)
    offered = {}
    local chosen
    for _, item in ipairs(items) do
      local title = opts.format_item(item)
      table.insert(offered, title)
      if title == 'Accept' then chosen = item end
    end
    on_choice(chosen)
  end
  local answered
  require('ailoop').run_codelens(function(err) answered = err or true end)
  wait_for('the server to answer the lens command', function() return answered ~= nil end)
  note('offered', offered)
  note('answer_error', answered ~= true and answered or nil)
  wait_marker_gone(bufnr, marker_view(marker).snippet)
end

-- Paste a snippet, then undo it with `u`: Neovim sends the removal as its own shape of
-- change, and the snippet must go (marker removed).
function scenarios.undo_paste()
  local bufnr = open_with_ailoop()
  local before = buffer_text(bufnr)
  vim.cmd('let &undolevels = &undolevels') -- an undo step of its own for the paste
  local marker = insert_snippet(bufnr)
  note('marker', marker_view(marker))
  vim.cmd('undo')
  note('undone', buffer_text(bufnr) == before)
  wait_marker_gone(bufnr, marker_view(marker).snippet)
end

-- Reject with a note: vim.ui.input (Neovim's prompt, answered here) supplies the reason.
function scenarios.reject_with_note()
  local bufnr = open_with_ailoop()
  local marker = insert_snippet(bufnr)
  note('marker', marker_view(marker))
  local prompted
  vim.ui.input = function(opts, on_confirm)
    prompted = opts.prompt
    on_confirm(os.getenv('AILOOP_TEST_NOTE'))
  end
  local answered
  require('ailoop.review').reject_with_note({ on_done = function(err) answered = err or true end })
  wait_for('the server to answer ailoop.reject', function() return answered ~= nil end)
  note('prompt', prompted)
  note('answer_error', answered ~= true and answered or nil)
  wait_marker_gone(bufnr, marker_view(marker).snippet)
end

-- Type a line character by character in insert mode (one key at a time, each a change
-- of one character), then insert a snippet as a barrier: once the server marked the
-- snippet it has processed the typing too, and only the snippet may carry a marker.
function scenarios.typing()
  local bufnr = open_with_ailoop()
  local typed = 'total = sum(value * 2 for value in range(10))  # typed by hand'
  local line = vim.api.nvim_buf_line_count(bufnr)
  vim.api.nvim_win_set_cursor(0, { line, 0 })
  -- one key at a time in insert mode: each feedkeys call enters insert mode, types one
  -- character and leaves ('x' runs the keys now and always ends insert mode; a single
  -- call with the whole line would be inserted as one change). No wait in between, so
  -- Neovim batches these one-character changes into one didChange with many changes.
  local esc = vim.api.nvim_replace_termcodes('<Esc>', true, false, true)
  vim.api.nvim_feedkeys('o' .. typed:sub(1, 1) .. esc, 'nx', false)
  for i = 2, #typed do
    vim.api.nvim_feedkeys('a' .. typed:sub(i, i) .. esc, 'nx', false)
  end
  note('typed_line', vim.api.nvim_buf_get_lines(bufnr, line, line + 1, false)[1])
  -- and a second line, one character per didChange (a wait longer than the debounce between)
  vim.api.nvim_buf_set_lines(bufnr, line + 1, line + 1, false, { '' })
  local slow = 'limit = 10'
  for i = 1, #slow do
    vim.api.nvim_buf_set_text(bufnr, line + 1, i - 1, line + 1, i - 1, { slow:sub(i, i) })
    vim.wait(200, function() return false end, 20)
  end
  local marker, first = insert_snippet(bufnr)
  local markers = {}
  for _, d in ipairs(require('ailoop').markers(bufnr)) do table.insert(markers, marker_view(d)) end
  note('markers', markers)
  note('snippet_first_line', first)
  note('typed_lines', { line, line + 1 })
  note('marker', marker_view(marker))
  note('text', buffer_text(bufnr))
end

-- A Copilot accept key wrapped by copilot_lua_accept: ailoop/generated {tool = "copilot"}
-- reaches the server before the inserted text.
function scenarios.copilot_accept()
  local bufnr = open_with_ailoop()
  local ailoop = require('ailoop')
  local first = vim.api.nvim_buf_line_count(bufnr)
  local accepted = false
  -- stand-in for copilot.lua's module: a visible suggestion whose accept() inserts it
  package.loaded['copilot.suggestion'] = {
    is_visible = function() return not accepted end,
    accept = function()
      accepted = true
      vim.api.nvim_buf_set_lines(bufnr, first, first, false, SNIPPET)
    end,
  }
  vim.keymap.set('i', '<C-l>', ailoop.copilot_lua_accept('<C-l>'), { buffer = bufnr })
  vim.api.nvim_win_set_cursor(0, { first, 0 })
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes('A<C-l><Esc>', true, false, true), 'x', false)
  note('accepted', accepted)
  wait_for('the ai-snippet marker', function()
    for _, d in ipairs(ailoop.markers(bufnr)) do
      if d.lnum == first then return true end
    end
    return false
  end)
  for _, d in ipairs(ailoop.markers(bufnr)) do
    if d.lnum == first then note('marker', marker_view(d)) end
  end
end

-- setup() with a server command that does not exist: one clear message, and opening a
-- file still works (no client, no error).
function scenarios.missing_server()
  local messages = {}
  vim.notify = function(msg, level) table.insert(messages, { msg = msg, level = level }) end
  require('ailoop').setup({ cmd = { 'no-such-ailoop-command', 'serve' } })
  local ok, err = pcall(vim.cmd, 'edit ' .. vim.fn.fnameescape(os.getenv('AILOOP_TEST_FILE')))
  note('edit_error', not ok and tostring(err) or nil)
  note('messages', messages)
  note('attached', require('ailoop').client() ~= nil)
  note('statusline', require('ailoop').statusline())
end

-- Answer the server's window/showMessageRequest (shown through vim.ui.select by
-- client-nvim) with AILOOP_TEST_ANSWER, and keep what was asked and every vim.notify.
local function answer_prompts()
  local seen = { prompts = {}, messages = {} }
  vim.ui.select = function(items, opts, on_choice)
    local titles, chosen = {}, nil
    for _, item in ipairs(items) do
      local title = opts.format_item and opts.format_item(item) or tostring(item)
      table.insert(titles, title)
      if title == os.getenv('AILOOP_TEST_ANSWER') then chosen = item end
    end
    table.insert(seen.prompts, { prompt = opts.prompt, kind = opts.kind, titles = titles })
    on_choice(chosen)
  end
  vim.notify = function(msg, level) table.insert(seen.messages, { msg = msg, level = level }) end
  return seen
end

local function engine_ran()
  return vim.loop.fs_stat(os.getenv('AILOOP_TEST_MARKER')) ~= nil
end

-- The workspace's .ailoop.toml names a command engine: the server asks whether to trust
-- the folder, the answer (AILOOP_TEST_ANSWER) is "Not now", the engine does not run; then
-- :AiloopTrust trusts the buffer's folder and the engine runs.
function scenarios.trust_command()
  local seen = answer_prompts()
  local bufnr = open_with_ailoop()
  note('marker', marker_view((insert_snippet(bufnr))))
  wait_for('the trust prompt', function() return #seen.prompts > 0 end)
  vim.wait(2000, function() return engine_ran() end, 50) -- long enough for the engine to run, if it may
  note('prompts', seen.prompts)
  note('engine_ran_before', engine_ran())
  local done
  require('ailoop.trust').trust({ on_done = function(err, trusted) done = { err = err, trusted = trusted } end })
  wait_for('the answer to ailoop.trust', function() return done ~= nil end)
  note('trust_answer', done)
  vim.cmd('AiloopTrust') -- the command does the same (trusting a trusted folder again is fine)
  wait_for('the engine to run', engine_ran)
  wait_for(':AiloopTrust to say so', function()
    local said = 0
    for _, m in ipairs(seen.messages) do
      if m.msg:find('^ailoop: trusted ') then said = said + 1 end
    end
    return said == 2
  end)
  note('messages', seen.messages)
  note('engine_ran_after', engine_ran())
end

-- The same workspace, and the trust prompt is answered "Trust": the engine runs.
function scenarios.trust_prompt()
  local seen = answer_prompts()
  local bufnr = open_with_ailoop()
  note('marker', marker_view((insert_snippet(bufnr))))
  wait_for('the trust prompt', function() return #seen.prompts > 0 end)
  note('prompts', seen.prompts)
  wait_for('the engine to run', engine_ran)
  note('messages', seen.messages)
  note('engine_ran_after', engine_ran())
end

-- setup(), then two lone files in two directories under no root marker (AILOOP_TEST_FILE,
-- AILOOP_TEST_OTHER): both attach to one client with no root (single-file mode).
function scenarios.lone_setup()
  local ailoop = require('ailoop')
  ailoop.setup({ cmd = vim.fn.json_decode(os.getenv('AILOOP_TEST_CMD')) })
  local seen = {}
  for _, path in ipairs({ os.getenv('AILOOP_TEST_FILE'), os.getenv('AILOOP_TEST_OTHER') }) do
    vim.cmd('edit ' .. vim.fn.fnameescape(path))
    local bufnr = vim.api.nvim_get_current_buf()
    wait_for('the ailoop client to attach to ' .. path, function()
      local client = ailoop.client(bufnr)
      return client ~= nil and client.initialized ~= false and client.server_capabilities ~= nil
    end)
    local client = ailoop.client(bufnr)
    table.insert(seen, { id = client.id, root_dir = client.config.root_dir or vim.NIL })
  end
  note('clients', seen)
  note('running', #require('ailoop.compat').get_clients({ name = 'ailoop' }))
end

-- Run Lua blocks from docs/neovim.md as a user's init.lua would (AILOOP_TEST_BLOCKS, a
-- JSON list, in order), then open the file, paste a snippet and report the marker and
-- the evaluated status line. When AILOOP_TEST_START is "setup" the blocks do not start
-- ailoop themselves and setup() is called after them.
function scenarios.docs_blocks()
  for i, code in ipairs(vim.fn.json_decode(os.getenv('AILOOP_TEST_BLOCKS'))) do
    local chunk, err = (loadstring or load)(code, 'docs block ' .. i)
    if not chunk then error(err, 0) end
    chunk()
  end
  if os.getenv('AILOOP_TEST_START') == 'setup' then
    require('ailoop').setup({ cmd = vim.fn.json_decode(os.getenv('AILOOP_TEST_CMD')) })
  end
  local bufnr = edit_and_wait_attached()
  local marker = insert_snippet(bufnr)
  note('marker', marker_view(marker))
  local ok, line = pcall(vim.api.nvim_eval_statusline, vim.o.statusline, {})
  note('statusline', ok and line.str or vim.NIL)
end

-- Only compile the blocks (for versions they are not meant for) and list the names they
-- look up in require('ailoop') that the module does not have.
function scenarios.docs_compile()
  local ailoop = require('ailoop')
  local missing = {}
  for i, code in ipairs(vim.fn.json_decode(os.getenv('AILOOP_TEST_BLOCKS'))) do
    local chunk, err = (loadstring or load)(code, 'docs block ' .. i)
    if not chunk then error(err, 0) end
    for _, pattern in ipairs({ "require%(%s*'ailoop'%s*%)%.([%w_]+)", "require'ailoop'%.([%w_]+)" }) do
      for name in code:gmatch(pattern) do
        if ailoop[name] == nil then table.insert(missing, name) end
      end
    end
  end
  note('missing', missing)
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
  vim.cmd('filetype on')
  scenario()
end, debug.traceback)
result.ok = ok
result.error = ok and vim.NIL or tostring(err)
local stopped_ok, stop_err = pcall(stop_clients)
result.clients_stopped = stopped_ok or tostring(stop_err)
pcall(write_result)
if ok then
  vim.cmd('qall!')
else
  io.stderr:write('scenario failed: ' .. tostring(err) .. '\n')
  vim.cmd('cquit 1')
end
