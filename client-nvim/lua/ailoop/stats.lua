-- ailoop.stats: `ailoop stats` (tables and trend rows) in a floating window (:AiloopStats).
--
-- The server has no stats request: like VS Code's "ailoop: Show Stats", the command is
-- derived from the server command of the ailoop client (everything before `serve`, then
-- `stats --charts`), run with that client's environment (cmd_env) in its root directory,
-- asynchronously (jobstart, on every version from 0.7), and its output shown as is in a
-- scratch buffer in a float. `q` or <Esc> closes it.

local compat = require('ailoop.compat')
local review = require('ailoop.review')

local M = {}

M.FILETYPE = 'ailoopstats'
M.DEFAULT_CMD = { 'ailoop', 'serve' }

--- Pure: the `ailoop stats` command for a server command, or nil when it has no `serve`
--- argument to replace (e.g. a wrapper script). { 'ailoop', 'serve' } -> { 'ailoop', 'stats', … }.
---@param server_cmd string[]
---@param args string[]|nil what follows `stats` (default { '--charts' })
---@return string[]|nil
function M.command(server_cmd, args)
  if type(server_cmd) ~= 'table' then
    return nil
  end
  local serve_at
  for i, arg in ipairs(server_cmd) do
    if arg == 'serve' and i > 1 then
      serve_at = i
    end
  end
  if not serve_at then
    return nil
  end
  local out = {}
  for i = 1, serve_at - 1 do
    table.insert(out, server_cmd[i])
  end
  table.insert(out, 'stats')
  for _, arg in ipairs(args or { '--charts' }) do
    table.insert(out, arg)
  end
  return out
end

--- Where the server command comes from: the ailoop client of `bufnr` (else any ailoop
--- client), else the 0.11 config `vim.lsp.config.ailoop`, else { 'ailoop', 'serve' }.
--- Returns cmd, cmd_env, cwd.
local function server_command(bufnr)
  local client = compat.get_clients({ name = review.CLIENT_NAME, bufnr = bufnr })[1]
    or compat.get_clients({ name = review.CLIENT_NAME })[1]
  if client and type(client.config.cmd) == 'table' then
    return client.config.cmd, client.config.cmd_env, client.config.root_dir
  end
  if compat.has('0.11') and vim.lsp.config then
    local ok, config = pcall(function() return vim.lsp.config[review.CLIENT_NAME] end)
    if ok and type(config) == 'table' and type(config.cmd) == 'table' then
      return config.cmd, config.cmd_env, nil
    end
  end
  return M.DEFAULT_CMD, nil, nil
end

local function display_width(line)
  return vim.fn.strdisplaywidth(line)
end

--- Open `lines` in a centred floating window; `q` / <Esc> close it. Returns winid, bufnr.
---@param lines string[]
---@param title string
---@return integer, integer
function M.open_float(lines, title)
  local bufnr = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  for name, value in pairs({ modifiable = false, bufhidden = 'wipe', filetype = M.FILETYPE }) do
    vim.api.nvim_set_option_value(name, value, { buf = bufnr })
  end
  local widest = 1
  for _, line in ipairs(lines) do
    widest = math.max(widest, display_width(line))
  end
  local width = math.max(1, math.min(widest, vim.o.columns - 4))
  local height = math.max(1, math.min(#lines, vim.o.lines - 4))
  local config = {
    relative = 'editor',
    width = width,
    height = height,
    row = math.max(0, math.floor((vim.o.lines - height) / 2) - 1),
    col = math.max(0, math.floor((vim.o.columns - width) / 2) - 1),
    style = 'minimal',
    border = 'rounded',
  }
  if compat.has('0.9') then
    config.title = ' ' .. title .. ' '
    config.title_pos = 'center'
  end
  local winid = vim.api.nvim_open_win(bufnr, true, config)
  vim.api.nvim_set_option_value('wrap', false, { win = winid })
  for _, lhs in ipairs({ 'q', '<Esc>' }) do
    vim.keymap.set('n', lhs, function()
      if vim.api.nvim_win_is_valid(winid) then
        vim.api.nvim_win_close(winid, true)
      end
    end, { buffer = bufnr, nowait = true, desc = 'ailoop: close the stats' })
  end
  return winid, bufnr
end

local function strip_trailing_empty(lines)
  while #lines > 0 and lines[#lines] == '' do
    table.remove(lines)
  end
  return lines
end

--- Run `ailoop stats --charts` (the server command with `stats` for `serve`) and show its
--- output in a floating window. Asynchronous; `on_done(err, winid, bufnr)` after.
---@param opts table|nil { bufnr?, args?, on_done?: fun(err: string|nil, winid: integer|nil, bufnr: integer|nil) }
---   (on_done's winid and bufnr: the float's)
function M.show(opts)
  opts = opts or {}
  local bufnr = (opts.bufnr == nil or opts.bufnr == 0) and vim.api.nvim_get_current_buf() or opts.bufnr
  local function fail(message)
    vim.notify('ailoop: ' .. message, vim.log.levels.ERROR)
    if opts.on_done then
      opts.on_done(message, nil, nil)
    end
  end
  local server_cmd, cmd_env, cwd = server_command(bufnr)
  local cmd = M.command(server_cmd, opts.args)
  if not cmd then
    return fail(('cannot derive `ailoop stats` from the server command %s (it has no `serve` argument); '
      .. 'run `ailoop stats` in a terminal'):format(vim.inspect(server_cmd)))
  end
  if vim.fn.executable(cmd[1]) ~= 1 then
    return fail(('cannot run %s: install ailoop, or set the server command'):format(cmd[1]))
  end
  -- the trend rows fit the float: `ailoop stats` sizes them to COLUMNS
  local env = vim.tbl_extend('force', {}, cmd_env or {}, { COLUMNS = tostring(math.max(40, vim.o.columns - 6)) })
  local stdout, stderr = {}, {}
  local job_opts = {
    env = env,
    stdout_buffered = true,
    stderr_buffered = true,
    on_stdout = function(_, data) stdout = data or {} end,
    on_stderr = function(_, data) stderr = data or {} end,
    on_exit = function(_, code)
      vim.schedule(function()
        if code ~= 0 then
          local detail = vim.trim(table.concat(stderr, '\n'))
          return fail(('`%s` failed (exit %d)%s'):format(table.concat(cmd, ' '), code,
            detail ~= '' and (': ' .. detail:sub(-500)) or ''))
        end
        local lines = strip_trailing_empty(stdout)
        if #lines == 0 then
          lines = { '(no events recorded yet)' }
        end
        local winid, float_buf = M.open_float(lines, 'ailoop stats')
        if opts.on_done then
          opts.on_done(nil, winid, float_buf)
        end
      end)
    end,
  }
  if cwd and vim.fn.isdirectory(cwd) == 1 then
    job_opts.cwd = cwd
  end
  local ok, job = pcall(vim.fn.jobstart, cmd, job_opts)
  if not ok or job <= 0 then
    return fail(('cannot start %s: %s'):format(table.concat(cmd, ' '), ok and tostring(job) or tostring(job)))
  end
end

--- Define :AiloopStats.
function M.create_command()
  vim.api.nvim_create_user_command('AiloopStats', function()
    M.show()
  end, { nargs = 0, desc = 'ailoop: acceptance rates and top rejection patterns (`ailoop stats`) in a float' })
end

return M
