"""The start-up floor: a pygls 2 server that only answers ``initialize`` (and shutdown)."""

from pygls.lsp.server import LanguageServer

if __name__ == "__main__":
    LanguageServer("bare-pygls", "0").start_io()
