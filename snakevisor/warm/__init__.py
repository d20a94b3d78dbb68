"""The warm start path (issue 17): ``snakevisor server`` keeps an interpreter with every module
imported and forks a fresh sandbox per request; ``snakevisor do --warm`` is its thin client.

protocol.py: the socket's place and wire format (all the client imports); client.py: the client;
server.py: the server and the per-request session that becomes a cold ``do``'s process.
"""
