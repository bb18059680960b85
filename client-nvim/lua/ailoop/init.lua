-- ailoop for Neovim's built-in LSP client (Neovim 0.7 and later).
--
--   require('ailoop').setup({ cmd = { 'ailoop', 'serve' } })
--
-- On Neovim 0.11+ no setup() is needed: client-nvim/lsp/ailoop.lua (on the runtime path
-- with client-nvim) is the config, so `vim.lsp.enable('ailoop')` is enough, and
-- plugin/ailoop.lua adds the commands and the per-buffer work (LspAttach, augroup `ailoop`).
--
-- setup() registers the `ailoop` language server the way the running Neovim supports:
--   0.11+      vim.lsp.config('ailoop', …) + vim.lsp.enable('ailoop') (root_markers)
--   0.8–0.10   a FileType autocommand calling vim.lsp.start(…)
--   0.7        a FileType autocommand calling vim.lsp.start_client(…) + buf_attach_client,
--              one client per root directory
-- A file under none of the root markers gets no root of its own: such files share one
-- client with no workspace folder (single-file mode), never one server per directory.
-- and adds what the stock client lacks for ailoop: the `ailoop/status` notification,
-- code lens shown and kept fresh (also on `workspace/codeLens/refresh`), the server's
-- trust prompt through vim.ui.select and :AiloopTrust (ailoop.trust), optional
-- buffer-local key maps, and the review functions below. See docs/neovim.md.

local compat = require('ailoop.compat')
local review = require('ailoop.review')
local status = require('ailoop.status')
local copilot = require('ailoop.copilot')
local trust = require('ailoop.trust')
local stats = require('ailoop.stats')

local M = {}

--- The augroup holding every autocommand of client-nvim (public: `:au ailoop` lists them).
M.AUGROUP = 'ailoop'

--- The files that mark a workspace root (the nearest directory above a file with one).
M.ROOT_MARKERS = { '.ailoop.toml', 'pyproject.toml', 'package.json', '.git' }

--- The id of the augroup `ailoop` (created on first use, never cleared as a whole).
function M.augroup()
  return vim.api.nvim_create_augroup(M.AUGROUP, { clear = false })
end

--- Defaults for setup(); every key can be overridden.
M.defaults = {
  -- the server command; e.g. { '/path/to/venv/bin/python', '-m', 'ailoop', 'serve' }
  cmd = { 'ailoop', 'serve' },
  -- extra environment for the server process (e.g. { AILOOP_DATA_DIR = '…' })
  cmd_env = nil,
  -- filetypes to attach to; nil attaches to every buffer that has a filetype
  filetypes = nil,
  -- files that mark the workspace root; a file under none of them gets no root (single-file mode)
  root_markers = M.ROOT_MARKERS,
  -- initializationOptions; and the `ailoop` section answered to workspace/configuration
  init_options = nil,
  settings = nil,
  -- show code lens ("AI snippet · … — Accept | Reject") and keep it fresh
  codelens = true,
  -- buffer-local normal-mode key maps, set when ailoop attaches; false/nil for none.
  -- e.g. { code_action = '<leader>ca', codelens = '<leader>cl', accept = '<leader>ay',
  --        reject = '<leader>an', reject_with_note = '<leader>ar' }
  keymaps = nil,
  -- called as on_attach(client, bufnr) after ailoop's own attach work
  on_attach = nil,
}

--- Ask ailoop (only ailoop) for the code lenses of `bufnr` and display them.
---@param bufnr integer|nil
function M.refresh_codelens(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if not vim.api.nvim_buf_is_loaded(bufnr) then
    return
  end
  for _, client in ipairs(compat.get_clients({ name = review.CLIENT_NAME, bufnr = bufnr })) do
    local params = { textDocument = { uri = vim.uri_from_bufnr(bufnr) } }
    compat.request(client, 'textDocument/codeLens', params, vim.lsp.handlers['textDocument/codeLens'], bufnr)
  end
end

--- Run one of ailoop's code lenses on the cursor line ("Accept" / "Reject"), picked
--- with vim.ui.select when there are several, through workspace/executeCommand.
--- ailoop's title-only lens ("AI snippet · tool · N lines") is left out. Lines without
--- an ailoop lens fall back to vim.lsp.codelens.run() (other servers' lenses).
---@param on_done fun(err: table|nil)|nil called after the server answered
function M.run_codelens(on_done)
  local bufnr = vim.api.nvim_get_current_buf()
  local line = vim.api.nvim_win_get_cursor(0)[1] - 1
  local client = M.client(bufnr)
  local lenses = {}
  for _, lens in ipairs(client and vim.lsp.codelens.get(bufnr) or {}) do
    local command = lens.command
    if lens.range.start.line == line and command and type(command.command) == 'string'
        and command.command:find('^ailoop%.') then
      table.insert(lenses, lens)
    end
  end
  if #lenses == 0 then
    vim.lsp.codelens.run()
    return
  end
  local function run(lens)
    if not lens then
      return
    end
    local params = { command = lens.command.command, arguments = lens.command.arguments }
    compat.request(client, 'workspace/executeCommand', params, function(err, result)
      if err then
        vim.notify('ailoop: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      else
        review.notify_durability(result)
      end
      if on_done then
        on_done(err)
      end
    end, bufnr)
  end
  if #lenses == 1 then
    run(lenses[1])
  else
    vim.ui.select(lenses, {
      prompt = 'AI snippet:',
      format_item = function(lens) return lens.command.title end,
    }, run)
  end
end

local function set_keymaps(keymaps, bufnr)
  if type(keymaps) ~= 'table' then
    return
  end
  local actions = {
    code_action = { vim.lsp.buf.code_action, 'code actions (Accept / Reject AI snippet)' },
    codelens = { function() M.run_codelens() end, 'run the code lens on this line' },
    accept = { review.accept, 'accept the AI snippet under the cursor' },
    reject = { function() review.reject() end, 'reject the AI snippet under the cursor' },
    reject_with_note = { function() review.reject_with_note() end, 'reject the AI snippet with a note' },
  }
  for name, lhs in pairs(keymaps) do
    local action = actions[name]
    if not action then
      vim.notify(('ailoop: unknown key map name %q (known: %s)'):format(
        name, table.concat(vim.tbl_keys(actions), ', ')), vim.log.levels.WARN)
    elseif lhs then
      vim.keymap.set('n', lhs, action[1], { buffer = bufnr, desc = 'ailoop: ' .. action[2] })
    end
  end
end

--- The handlers ailoop's client uses on top of Neovim's defaults.
local function handlers(opts)
  return {
    ['ailoop/status'] = status.handler,
    -- the trust prompt: vim.ui.select, never the blocking inputlist() (see ailoop/trust.lua)
    ['window/showMessageRequest'] = trust.message_request,
    -- Neither 0.7 nor 0.11 handles this request by itself: refresh every buffer of the client.
    ['workspace/codeLens/refresh'] = function(_, _, ctx)
      if opts.codelens then
        local client = vim.lsp.get_client_by_id(ctx.client_id)
        for bufnr in pairs(client and client.attached_buffers or {}) do
          vim.schedule(function() M.refresh_codelens(bufnr) end)
        end
      end
      return vim.NIL
    end,
    -- Snippets come and go with the marker diagnostics: refresh the lenses with them.
    ['textDocument/publishDiagnostics'] = function(err, result, ctx, config)
      vim.lsp.handlers['textDocument/publishDiagnostics'](err, result, ctx, config)
      if opts.codelens and result and result.uri then
        local bufnr = vim.uri_to_bufnr(result.uri)
        vim.schedule(function() M.refresh_codelens(bufnr) end)
      end
      vim.cmd('redrawstatus')
    end,
  }
end

--- True when `client` is an ailoop client that announced code lens refresh, i.e. was
--- configured with codelens on (the default).
local function wants_codelens(client)
  local workspace = client.config and client.config.capabilities and client.config.capabilities.workspace
  return type(workspace) == 'table' and type(workspace.codeLens) == 'table'
    and workspace.codeLens.refreshSupport == true
end

--- ailoop's per-buffer work once it attached to `bufnr`: code lens shown and refreshed on
--- BufEnter / InsertLeave (buffer-local autocommands in the augroup `ailoop`), and the
--- key maps of setup()'s `keymaps`. Idempotent: it runs from the config's on_attach and
--- again from plugin/ailoop.lua's LspAttach autocommand (0.8+), so a user's own on_attach
--- (which replaces ours in vim.lsp.config) loses none of it.
---@param client table
---@param bufnr integer
---@param opts { codelens?: boolean, keymaps?: table }|nil default: code lens as announced
function M.attach(client, bufnr, opts)
  if not client or client.name ~= review.CLIENT_NAME then
    return
  end
  opts = opts or {}
  local codelens = opts.codelens
  if codelens == nil then
    codelens = wants_codelens(client)
  end
  set_keymaps(opts.keymaps, bufnr)
  if codelens then
    local group = M.augroup()
    vim.api.nvim_clear_autocmds({ group = group, buffer = bufnr, event = { 'BufEnter', 'InsertLeave' } })
    vim.api.nvim_create_autocmd({ 'BufEnter', 'InsertLeave' }, {
      group = group,
      buffer = bufnr,
      desc = 'ailoop: refresh the code lens',
      callback = function() M.refresh_codelens(bufnr) end,
    })
    M.refresh_codelens(bufnr)
  end
end

--- The client configuration setup() starts ailoop with (without root_dir), for
--- people who start clients their own way (e.g. nvim-lspconfig). Also defines :AiloopTrust
--- and :AiloopStats.
---@param user table|nil options as for setup()
---@return table config, table opts
function M.client_config(user)
  local opts = vim.tbl_deep_extend('force', {}, M.defaults, user or {})
  if user and user.cmd then
    opts.cmd = user.cmd -- lists are replaced, not merged
  end
  if user and user.root_markers then
    opts.root_markers = user.root_markers
  end
  trust.create_command() -- :AiloopTrust
  stats.create_command() -- :AiloopStats
  local config = {
    name = review.CLIENT_NAME,
    cmd = opts.cmd,
    cmd_env = opts.cmd_env,
    init_options = opts.init_options,
    settings = { ailoop = opts.settings or vim.empty_dict() },
    -- the full default set (0.7 replaces rather than merges), plus what client-nvim adds:
    -- it answers workspace/codeLens/refresh (see handlers())
    capabilities = vim.tbl_deep_extend('force', vim.lsp.protocol.make_client_capabilities(), {
      workspace = { codeLens = { refreshSupport = opts.codelens and true or false } },
    }),
    handlers = handlers(opts),
    on_attach = function(client, bufnr)
      M.attach(client, bufnr, { codelens = opts.codelens and true or false, keymaps = opts.keymaps })
      if opts.on_attach then
        opts.on_attach(client, bufnr)
      end
    end,
    on_exit = function(_, _, client_id)
      status.forget(client_id)
    end,
  }
  return config, opts
end

--- The config of lsp/ailoop.lua, in the shape vim.lsp.config and nvim-lspconfig take:
--- cmd, root_markers, workspace_required = false (a file under no root marker is served
--- in single-file mode: no root, one client for all such files), capabilities, handlers,
--- settings, init_options, on_attach. No `filetypes`: like setup() and the VS Code
--- extension, ailoop attaches to every file (AI snippets are tracked in any language;
--- feedback comes for those with an engine). No `name`: vim.lsp.config names it.
---@param user table|nil options as for setup() (cmd, cmd_env, filetypes, root_markers, …)
---@return table config
function M.lsp_config(user)
  local config, opts = M.client_config(user)
  config.name = nil
  config.filetypes = opts.filetypes
  config.root_markers = opts.root_markers
  config.workspace_required = false
  return config
end

local function wants(opts, bufnr)
  if vim.bo[bufnr].buftype ~= '' or vim.api.nvim_buf_get_name(bufnr) == '' then
    return false
  end
  local ft = vim.bo[bufnr].filetype
  return ft ~= '' and (opts.filetypes == nil or vim.tbl_contains(opts.filetypes, ft))
end

-- The workspace root of `bufnr`, or nil for a file under none of the root markers
-- (single-file mode: never the file's own directory, which would start a server each).
local function root_of(opts, bufnr)
  return compat.find_root(vim.api.nvim_buf_get_name(bufnr), opts.root_markers)
end

-- The key of clients_by_root for files with no root.
local NO_ROOT = {}

-- 0.7: start_client + buf_attach_client, one client per root directory (and one for
-- every file with no root).
local function attach_0_7(config, opts, bufnr, clients_by_root)
  local root = root_of(opts, bufnr)
  local key = root or NO_ROOT
  local id = clients_by_root[key]
  if id == nil or vim.lsp.get_client_by_id(id) == nil then
    local cfg = vim.tbl_extend('force', config, { root_dir = root })
    local on_exit = cfg.on_exit
    cfg.on_exit = function(code, signal, client_id)
      if clients_by_root[key] == client_id then
        clients_by_root[key] = nil
      end
      on_exit(code, signal, client_id)
    end
    id = vim.lsp.start_client(cfg)
    if not id then
      return nil
    end
    clients_by_root[key] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

--- Register ailoop with Neovim's LSP client. Buffers already open are attached too.
--- Returns the options in effect.
---@param user table|nil see M.defaults
---@return table opts
function M.setup(user)
  local config, opts = M.client_config(user)
  local program = type(opts.cmd) == 'table' and opts.cmd[1] or nil
  if type(program) ~= 'string' or vim.fn.executable(program) ~= 1 then
    vim.notify(('ailoop: cannot run %s; install ailoop (so that `ailoop serve` works) or set '
      .. "cmd = { '/path/to/python', '-m', 'ailoop', 'serve' } in require('ailoop').setup()")
      :format(vim.inspect(opts.cmd)), vim.log.levels.WARN)
  end

  if compat.has('0.11') and vim.lsp.config and vim.lsp.enable then
    config.name = nil
    config.filetypes = opts.filetypes
    config.root_markers = opts.root_markers
    config.workspace_required = false
    vim.lsp.config(review.CLIENT_NAME, config)
    vim.lsp.enable(review.CLIENT_NAME)
    -- vim.lsp.enable starts clients for the buffers already open only once Neovim has
    -- finished starting up: before that (setup() from `-c`, or after `:edit` in init.lua),
    -- start them here, as vim.lsp.enable would, through the public vim.lsp.start.
    if vim.v.vim_did_enter ~= 1 then
      local resolved = vim.lsp.config[review.CLIENT_NAME]
      for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
        if vim.api.nvim_buf_is_loaded(bufnr) and wants(opts, bufnr) then
          local start = vim.deepcopy(resolved)
          start.name = review.CLIENT_NAME
          if type(start.root_dir) ~= 'string' then -- as vim.lsp.enable: root_markers, in order
            start.root_dir = vim.fs.root(bufnr, start.root_markers or opts.root_markers)
          end
          vim.lsp.start(start, { bufnr = bufnr })
        end
      end
    end
    return opts
  end

  local clients_by_root = {}
  local function attach(bufnr)
    if not wants(opts, bufnr) then
      return
    end
    if vim.lsp.start then -- 0.8–0.10: reuses the client with the same name and root_dir
      vim.lsp.start(vim.tbl_extend('force', config, { root_dir = root_of(opts, bufnr) }), { bufnr = bufnr })
    else
      attach_0_7(config, opts, bufnr, clients_by_root)
    end
  end
  local group = M.augroup()
  vim.api.nvim_clear_autocmds({ group = group, event = 'FileType' }) -- setup() called again
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = opts.filetypes or '*',
    desc = 'ailoop: start or attach the ailoop client',
    callback = function(args) attach(args.buf) end,
  })
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      attach(bufnr)
    end
  end
  return opts
end

--- The ailoop client attached to `bufnr` (default: current buffer), or nil.
---@param bufnr integer|nil
---@return table|nil
function M.client(bufnr)
  return compat.get_clients({ name = review.CLIENT_NAME, bufnr = bufnr or 0 })[1]
end

-- Review the snippet under the cursor.
M.snippet_at_cursor = review.at_cursor
M.markers = review.markers
M.accept = review.accept
M.reject = review.reject
M.reject_with_note = review.reject_with_note

-- Status line.
M.statusline = status.statusline
M.status = status.get

-- Report AI insertions from other tools.
M.notify_generated = copilot.notify_generated
M.wrap_accept = copilot.wrap_accept
M.copilot_lua_accept = copilot.copilot_lua_accept
M.copilot_vim_accept = copilot.copilot_vim_accept

-- Workspace trust (ailoop's trust store): the same as :AiloopTrust / :AiloopTrust!.
M.trust = trust.trust

-- `ailoop stats` in a floating window: the same as :AiloopStats.
M.stats = stats.show

return M
