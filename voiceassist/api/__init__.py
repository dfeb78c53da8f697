"""The local API server (``voiceassist serve``): FastAPI + uvicorn over the same Session and analysis code
as the CLI and the window.

Modules: ``serve`` (the command: options, token, bind checks, uvicorn), ``app`` (the app factory),
``errors`` (JSON errors with a stable ``error.code``), ``security`` (token, Host/Origin checks),
``limits`` (body size), ``engine`` (the one shared model set, the analysis queue, live sessions),
``uploads`` (an upload into a temporary file, checked), one module per endpoint group (``emotion``,
``transcribe`` + ``formats``, ``chat``, ``speech``, ``meta``), and ``realtime`` (the WebSocket).
This package needs the ``api`` extra (``pip install 'voiceassist[api]'``); nothing here is imported by
the rest of the program.
"""
