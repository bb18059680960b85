-- ailoop's commands and per-buffer work, loaded with client-nvim on the runtime path
-- (Neovim loads plugin/ at start-up). Cheap: the ailoop modules load on first use.
--
--   :AiloopStats    `ailoop stats` in a floating window (q closes it)
--   :AiloopTrust[!] trust this buffer's workspace folder (!: every ignored folder)
--
-- On 0.8+ an LspAttach autocommand in the augroup `ailoop` gives each buffer an ailoop
-- client attaches to its code lens refresh (require('ailoop').attach), so that
-- `vim.lsp.enable('ailoop')` with lsp/ailoop.lua needs no setup(), and a user's own
-- on_attach (which replaces the config's) loses nothing.

if vim.g.loaded_ailoop then
  return
end
vim.api.nvim_set_var('loaded_ailoop', true)

vim.api.nvim_create_user_command('AiloopStats', function()
  require('ailoop.stats').show()
end, { nargs = 0, desc = 'ailoop: acceptance rates and top rejection patterns (`ailoop stats`) in a float' })

vim.api.nvim_create_user_command('AiloopTrust', function(args)
  require('ailoop.trust').trust({ all = args.bang })
end, {
  bang = true,
  nargs = 0,
  desc = "ailoop: trust this buffer's workspace folder (!: every folder whose settings ailoop ignores)",
})

if vim.fn.has('nvim-0.8') == 1 then
  vim.api.nvim_create_autocmd('LspAttach', {
    group = vim.api.nvim_create_augroup('ailoop', { clear = false }),
    desc = 'ailoop: code lens for buffers ailoop attaches to',
    callback = function(args)
      local client = args.data and vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == 'ailoop' then
        require('ailoop').attach(client, args.buf)
      end
    end,
  })
end
