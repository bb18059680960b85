-- ailoop.trust: workspace trust from Neovim.
--
-- A repository's `.ailoop.toml` / `[tool.ailoop]` may name programs (command engines,
-- ruff/ty commands, `.venv/bin/ruff`); the server runs them only for a folder the user
-- trusted in ailoop's trust store (Neovim's own `vim.secure` covers exrc files only).
--
-- * The server asks once per folder with window/showMessageRequest ("… is not trusted, so
--   ailoop ignores: …", actions Trust / Not now). Neovim's own handler answers it with
--   vim.fn.inputlist(), which blocks the editor (and never returns in headless Neovim);
--   message_request() asks through vim.ui.select instead. Where Neovim runs the handler in
--   a coroutine (0.11 does) the choice is the answer; where it needs the answer at once
--   (0.7), it answers "no choice", asks, and runs `ailoop.trust` for the client's folder on Trust.
-- * :AiloopTrust runs the server's `ailoop.trust` command for the current buffer's
--   workspace folder, :AiloopTrust! for every folder (of every ailoop client) whose
--   settings are ignored, and says what was trusted.

local compat = require('ailoop.compat')
local review = require('ailoop.review')

local M = {}

M.COMMAND = 'ailoop.trust'
M.ACTION_TRUST = 'Trust'

local function strip_slash(path)
  return (path:gsub('(.)/+$', '%1'))
end

local function within(path, dir)
  return path == dir or path:sub(1, #dir + 1) == dir .. '/' or dir == '/'
end

--- The workspace folders of `client` ({ uri, name } each): its workspace_folders, else its root_dir.
local function folders_of(client)
  local folders = client.workspace_folders
  if type(folders) == 'table' and #folders > 0 then
    return folders
  end
  local root = client.config and client.config.root_dir
  return root and { { uri = vim.uri_from_fname(root), name = root } } or {}
end

--- The innermost workspace folder of `client` that holds `path`, or nil.
---@param client table
---@param path string an absolute path
---@return table|nil folder { uri, name }
function M.folder_of(client, path)
  local candidates = { strip_slash(path) }
  local real = vim.loop.fs_realpath(path)
  if real then
    table.insert(candidates, strip_slash(real))
  end
  local best, best_len
  for _, folder in ipairs(folders_of(client)) do
    local dir = strip_slash(vim.uri_to_fname(folder.uri))
    local real_dir = vim.loop.fs_realpath(dir)
    for _, candidate in ipairs(candidates) do
      for _, d in ipairs({ dir, real_dir and strip_slash(real_dir) }) do
        if d and within(candidate, d) and (best == nil or #d > best_len) then
          best, best_len = folder, #d
        end
      end
    end
  end
  return best
end

local function report(trusted, errors, on_done)
  if #errors > 0 then
    vim.notify('ailoop: ' .. table.concat(errors, '; '), vim.log.levels.ERROR)
  elseif #trusted > 0 then
    vim.notify(('ailoop: trusted %s; its ailoop settings apply now'):format(table.concat(trusted, ', ')),
      vim.log.levels.INFO)
  else
    vim.notify('ailoop: no open folder has settings that ailoop ignores', vim.log.levels.INFO)
  end
  if on_done then
    on_done(#errors > 0 and table.concat(errors, '; ') or nil, trusted)
  end
end

--- Run `ailoop.trust` through each of `targets` ({ client, folder_uri? }); one report at the end.
local function run(targets, bufnr, on_done)
  local pending, trusted, errors = #targets, {}, {}
  for _, target in ipairs(targets) do
    local params = { command = M.COMMAND }
    if target.folder_uri then
      params.arguments = { { folder = target.folder_uri } }
    end
    local sent = compat.request(target.client, 'workspace/executeCommand', params, function(err, result)
      if err then
        table.insert(errors, err.message or vim.inspect(err))
      elseif type(result) == 'table' and type(result.trusted) == 'table' then
        for _, uri in ipairs(result.trusted) do
          table.insert(trusted, vim.uri_to_fname(uri))
        end
      end
      pending = pending - 1
      if pending == 0 then
        report(trusted, errors, on_done)
      end
    end, bufnr)
    if not sent then
      table.insert(errors, ('the ailoop client %d is not running'):format(target.client.id))
      pending = pending - 1
    end
  end
  if pending == 0 then
    report(trusted, errors, on_done)
  end
end

--- Trust the current buffer's workspace folder (`all`: every folder with ignored settings).
---@param opts { all?: boolean, bufnr?: integer, on_done?: fun(err: string|nil, trusted: string[]) }|nil
function M.trust(opts)
  opts = opts or {}
  local bufnr = (opts.bufnr == nil or opts.bufnr == 0) and vim.api.nvim_get_current_buf() or opts.bufnr
  local function fail(message)
    vim.notify('ailoop: ' .. message, vim.log.levels.ERROR)
    if opts.on_done then
      opts.on_done(message, {})
    end
  end
  local targets = {}
  if opts.all then
    for _, client in ipairs(compat.get_clients({ name = review.CLIENT_NAME })) do
      table.insert(targets, { client = client })
    end
    if #targets == 0 then
      return fail('ailoop is not running')
    end
  else
    local client = compat.get_clients({ name = review.CLIENT_NAME, bufnr = bufnr })[1]
    if not client then
      return fail('ailoop is not attached to this buffer (:AiloopTrust! trusts the folders of every ailoop client)')
    end
    local name = vim.api.nvim_buf_get_name(bufnr)
    local folder = name ~= '' and M.folder_of(client, vim.fn.fnamemodify(name, ':p')) or nil
    if not folder then
      return fail('this buffer is in none of the workspace folders of ailoop (:AiloopTrust! trusts them all)')
    end
    targets = { { client = client, folder_uri = folder.uri } }
  end
  run(targets, bufnr, opts.on_done)
end

local function select_opts(params)
  return {
    prompt = tostring(params.message or '') .. ' ',
    kind = 'ailoop_trust',
    format_item = function(action) return action.title end,
  }
end

--- Handler of window/showMessageRequest for the ailoop client (see the top of this file).
function M.message_request(_, params, ctx)
  params = type(params) == 'table' and params or {}
  local actions = type(params.actions) == 'table' and params.actions or {}
  local co, is_main = coroutine.running()
  if co and not is_main then
    vim.ui.select(actions, select_opts(params), function(choice)
      -- after the yield below, also when vim.ui.select calls back at once
      vim.schedule(function() coroutine.resume(co, choice or vim.NIL) end)
    end)
    return coroutine.yield()
  end
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  vim.schedule(function()
    vim.ui.select(actions, select_opts(params), function(choice)
      if not (client and type(choice) == 'table' and choice.title == M.ACTION_TRUST) then
        return
      end
      local folders = folders_of(client)
      -- one folder: that one; several: each with ignored settings (the server knows which)
      run({ { client = client, folder_uri = #folders == 1 and folders[1].uri or nil } }, nil, nil)
    end)
  end)
  return vim.NIL
end

--- Define :AiloopTrust (and :AiloopTrust!).
function M.create_command()
  vim.api.nvim_create_user_command('AiloopTrust', function(args)
    M.trust({ all = args.bang })
  end, {
    bang = true,
    nargs = 0,
    desc = "ailoop: trust this buffer's workspace folder (!: every folder whose settings ailoop ignores)",
  })
end

return M
