#include "http/router.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace sigil::http {

struct Router::Node {
  std::vector<std::pair<std::string, std::unique_ptr<Node>>> literals;
  std::unique_ptr<Node> param;
  std::vector<size_t> end_routes;   // patterns ending at this node
  std::vector<size_t> rest_routes;  // patterns whose next (last) segment is {name...}
};

// State of one Match call: the parameter values on the current DFS path and the methods seen.
struct Router::Search {
  std::string_view method;
  std::string_view path;
  std::vector<std::string_view> values;  // param values in path order (rest last)
  size_t found = 0;
  std::vector<std::string_view> values_found;
  std::vector<size_t> path_matches;  // routes matching the path, for Allow
};

namespace {

// Splits "/a/{b}/{c...}" into segments after the leading '/'.
std::vector<std::string> SplitPattern(const std::string& pattern) {
  std::vector<std::string> segs;
  if (pattern.empty() || pattern[0] != '/') {
    std::fprintf(stderr, "http: route pattern must start with '/': %s\n", pattern.c_str());
    std::abort();
  }
  size_t pos = 1;
  for (;;) {
    size_t slash = pattern.find('/', pos);
    segs.push_back(
        pattern.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos));
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return segs;
}

bool IsParam(const std::string& seg) {
  return seg.size() >= 2 && seg.front() == '{' && seg.back() == '}';
}

bool IsRest(const std::string& seg) {
  return IsParam(seg) && seg.size() > 5 && seg.compare(seg.size() - 4, 4, "...}") == 0;
}

bool HasMethod(const Route& r, std::string_view method) {
  return std::find(r.methods.begin(), r.methods.end(), method) != r.methods.end();
}

}  // namespace

Router::Router(const RouteTable& table) : routes_(table.routes()), root_(std::make_unique<Node>()) {
  param_names_.resize(routes_.size());
  for (size_t i = 0; i < routes_.size(); ++i) {
    std::vector<std::string> segs = SplitPattern(routes_[i].pattern);
    Node* node = root_.get();
    for (size_t s = 0; s < segs.size(); ++s) {
      const std::string& seg = segs[s];
      if (IsRest(seg)) {
        if (s + 1 != segs.size()) {
          std::fprintf(stderr, "http: {name...} must be the last segment: %s\n",
                       routes_[i].pattern.c_str());
          std::abort();
        }
        param_names_[i].push_back(seg.substr(1, seg.size() - 5));
        node->rest_routes.push_back(i);
        node = nullptr;
        break;
      }
      if (IsParam(seg)) {
        param_names_[i].push_back(seg.substr(1, seg.size() - 2));
        if (!node->param) node->param = std::make_unique<Node>();
        node = node->param.get();
        continue;
      }
      auto it = std::find_if(node->literals.begin(), node->literals.end(),
                             [&](const auto& l) { return l.first == seg; });
      if (it == node->literals.end()) {
        node->literals.emplace_back(seg, std::make_unique<Node>());
        it = node->literals.end() - 1;
      }
      node = it->second.get();
    }
    if (node != nullptr) node->end_routes.push_back(i);
  }
}

Router::~Router() = default;

bool Router::Offer(size_t route, Search& search) const {
  if (HasMethod(routes_[route], search.method)) {
    search.found = route;
    search.values_found = search.values;
    return true;
  }
  search.path_matches.push_back(route);
  return false;
}

// Depth-first in precedence order; `pos` is the offset of the next segment, npos when none is left.
bool Router::Visit(const Node& node, std::string_view path, size_t pos, Search& search) const {
  if (pos == std::string_view::npos) {
    for (size_t r : node.end_routes) {
      if (Offer(r, search)) return true;
    }
    return false;
  }
  size_t slash = path.find('/', pos);
  std::string_view seg =
      path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
  size_t next = slash == std::string_view::npos ? std::string_view::npos : slash + 1;
  for (const auto& [literal, child] : node.literals) {
    if (literal == seg) {
      if (Visit(*child, path, next, search)) return true;
      break;
    }
  }
  if (node.param && !seg.empty()) {
    search.values.push_back(seg);
    if (Visit(*node.param, path, next, search)) return true;
    search.values.pop_back();
  }
  if (!node.rest_routes.empty()) {
    search.values.push_back(path.substr(pos));
    for (size_t r : node.rest_routes) {
      if (Offer(r, search)) return true;
    }
    search.values.pop_back();
  }
  return false;
}

RouteMatch Router::Match(std::string_view method, std::string_view path,
                         std::map<std::string, std::string>* params) const {
  RouteMatch result;
  if (path.empty() || path[0] != '/') return result;
  Search search;
  search.method = method;
  search.path = path;
  if (Visit(*root_, path, 1, search)) {
    result.kind = RouteMatch::kFound;
    result.route_index = search.found;
    if (params != nullptr) {
      const auto& names = param_names_[search.found];
      for (size_t i = 0; i < names.size() && i < search.values_found.size(); ++i) {
        (*params)[names[i]] = std::string(search.values_found[i]);
      }
    }
    return result;
  }
  if (search.path_matches.empty()) return result;
  result.kind = RouteMatch::kMethodNotAllowed;
  result.route_index = search.path_matches.front();
  std::vector<std::string_view> methods;
  for (size_t r : search.path_matches) {
    for (const auto& m : routes_[r].methods) {
      if (std::find(methods.begin(), methods.end(), m) == methods.end()) methods.push_back(m);
    }
  }
  for (size_t i = 0; i < methods.size(); ++i) {
    if (i) result.allow += ", ";
    result.allow += methods[i];
  }
  return result;
}

std::string MethodNotAllowedMessage(std::string_view method, std::string_view path) {
  std::string m = "Method Not Allowed (";
  m += method;
  m += "): ";
  m += path;
  return m;
}

}  // namespace sigil::http
