// Router: matches a request path and method against a RouteTable.
//
// Precedence, segment by segment: a literal segment beats a {param} segment, which beats a trailing
// {rest...}; among equal patterns the first registered wins. A {param} matches one non-empty
// segment; a trailing {rest...} matches the remainder of the path including '/' (possibly empty,
// but the '/' before it must be there). Trailing slashes are significant ("/upload/" does not match
// "/upload"). The first matching route (in precedence order) whose methods include the request
// method wins; if routes match the path but none allows the method the result is 405 with the union
// of their methods.
//
// Immutable after construction; Match is thread-safe and allocates only for the parameters it
// returns.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/route.h"

namespace sigil::http {

struct RouteMatch {
  enum Kind { kFound, kNotFound, kMethodNotAllowed };
  Kind kind = kNotFound;
  // kFound: index into RouteTable::routes(); kMethodNotAllowed: the first route whose path matched
  // (for metrics and the access log).
  size_t route_index = 0;
  std::string allow;  // kMethodNotAllowed: "GET, HEAD"
};

class Router {
 public:
  explicit Router(const RouteTable& table);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // `path` is the percent-decoded path starting with '/'. On kFound, `params` (if not null)
  // receives the route's path parameters.
  RouteMatch Match(std::string_view method, std::string_view path,
                   std::map<std::string, std::string>* params) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  struct Node;
  struct Search;
  bool Visit(const Node& node, std::string_view path, size_t pos, Search& search) const;
  bool Offer(size_t route, Search& search) const;

  std::vector<Route> routes_;
  std::vector<std::vector<std::string>> param_names_;  // per route, in path order (rest last)
  std::unique_ptr<Node> root_;
};

// "Method Not Allowed (GET): /upload/" as the 405 body's message.
std::string MethodNotAllowedMessage(std::string_view method, std::string_view path);

}  // namespace sigil::http
