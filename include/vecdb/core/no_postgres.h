// Included by every core header's implementation: the core must stay free of
// Postgres headers so that it builds and tests without a server.
#pragma once
#ifdef POSTGRES_H
#error "vecdb core must not include Postgres headers"
#endif
