-- luacheck configuration for client-nvim/ and the Neovim test driver (Neovim runs LuaJIT).
std = 'luajit'
read_globals = { 'vim' }
max_line_length = 120
-- the test drivers answer Neovim's prompts by replacing vim.ui.select / vim.ui.input /
-- vim.notify, and watch the server's requests by wrapping vim.lsp.handlers
for _, driver in ipairs({ 'scenario', 'review', 'watched', 'enable' }) do
  files['tests/nvim/' .. driver .. '.lua'] = { globals = { 'vim' } }
end
