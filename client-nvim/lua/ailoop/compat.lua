-- ailoop.compat: the few LSP client calls whose form changed between Neovim 0.7 and 0.11+.
--
-- Everything else in ailoop/ calls these instead of branching on the version itself.

local M = {}

--- True when the running Neovim is at least `version` (e.g. '0.11').
---@param version string
---@return boolean
function M.has(version)
  return vim.fn.has('nvim-' .. version) == 1
end

--- Clients, optionally only those named `name` and/or attached to `bufnr`.
--- (0.10+: vim.lsp.get_clients; 0.8–0.9: get_active_clients{filter}; 0.7: no filter at all.)
---@param filter { name?: string, bufnr?: integer }|nil
---@return table[] clients
function M.get_clients(filter)
  filter = filter or {}
  if vim.lsp.get_clients then
    return vim.lsp.get_clients(filter)
  end
  local all
  if filter.bufnr then
    all = vim.lsp.buf_get_clients(filter.bufnr == 0 and vim.api.nvim_get_current_buf() or filter.bufnr)
  else
    all = vim.lsp.get_active_clients()
  end
  local out = {}
  for _, client in pairs(all) do
    if filter.name == nil or client.name == filter.name then
      table.insert(out, client)
    end
  end
  return out
end

--- Send a request through one client (0.11 made these methods: client:request).
---@return boolean sent
function M.request(client, method, params, handler, bufnr)
  if M.has('0.11') then
    return (client:request(method, params, handler, bufnr))
  end
  return (client.request(method, params, handler, bufnr))
end

--- Send a notification through one client.
---@return boolean sent
function M.notify(client, method, params)
  if M.has('0.11') then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

--- Stop one client (asks the server to shut down and exit).
function M.stop(client)
  if M.has('0.11') then
    client:stop()
  else
    client.stop()
  end
end

--- The directory above `path` (or `path` itself) holding one of `markers`, else nil.
--- Written out because vim.fs.find does not exist on 0.7.
---@param path string an absolute file path
---@param markers string[]
---@return string|nil
function M.find_root(path, markers)
  local dir = vim.fn.fnamemodify(path, ':p:h')
  while true do
    for _, marker in ipairs(markers) do
      if vim.loop.fs_stat(dir .. '/' .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      return nil
    end
    dir = parent
  end
end

return M
