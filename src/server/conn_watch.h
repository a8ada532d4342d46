// server/conn_watch.h — is the client of a request still connected?
// Purpose: cpp-httplib 0.11 (Debian 12) gives a handler neither the socket nor a "connection
//   closed" query, so a non-streaming request would run to the end after its client left. The
//   socket is found by its TCP endpoints (the request's remote and local address and port) among
//   this process's descriptors; polling it tells whether the peer closed the connection.
// Non-goals: TLS, Unix sockets; telling a half-closed connection (shutdown(SHUT_WR), which HTTP
//   clients do not do while they wait for a response) from a closed one: both count as gone.
// Invariants: the descriptor is only used while the handler runs (httplib closes it afterwards);
//   -1 when it cannot be found (then the request simply runs to the end).
#pragma once

#include <string>

namespace nuri::server {

// The socket of the TCP connection (remote_addr:remote_port -> local_addr:local_port), or -1.
int find_connection_fd(const std::string& remote_addr, int remote_port, const std::string& local_addr, int local_port);

// True when the peer has closed (or reset) the connection. Never blocks; data the client sent
// ahead (a pipelined request) stays unread.
bool peer_closed(int fd);

}  // namespace nuri::server
