-- luacheck configuration for client-nvim/ and the Neovim test driver (Neovim runs LuaJIT).
std = 'luajit'
read_globals = { 'vim' }
max_line_length = 120
-- the test driver answers Neovim's prompts by replacing vim.ui.select / vim.ui.input / vim.notify
files['tests/nvim/scenario.lua'] = { globals = { 'vim' } }
