"""Replies: the strategy planner (tone per emotion, content intents, crisis reply, all from data files
under resources/replies/) and the optional generative backend."""
