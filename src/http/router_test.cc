#include "http/router.h"

#include <gtest/gtest.h>

namespace sigil::http {
namespace {

Handler Noop() {
  return [](Request&, Responder done) { done(Response::Text(200, "")); };
}

RouteTable Table() {
  RouteTable t;
  t.Add({"GET", "HEAD"}, "/{debug_file}/{debug_id}/{file}", Noop());  // 0
  t.Add({"GET"}, "/api/missingsymbols/", Noop());                     // 1
  t.Add({"POST"}, "/upload/", Noop());                                // 2
  t.Add({"GET"}, "/api/syminfo/{file}/{id}", Noop());                 // 3
  t.Add({"GET"}, "/static/{path...}", Noop());                        // 4
  t.Add({"GET"}, "/", Noop());                                        // 5
  t.Add({"DELETE"}, "/api/tokens/{id}", Noop());                      // 6
  t.Add({"GET"}, "/api/tokens/", Noop());                             // 7
  t.Add({"POST"}, "/api/tokens/", Noop());                            // 8
  t.Add({"GET"}, "/try/{debug_file}/{debug_id}/{file}", Noop());      // 9
  return t;
}

TEST(RouterTest, LiteralBeatsParam) {
  Router r(Table());
  std::map<std::string, std::string> params;
  RouteMatch m = r.Match("GET", "/api/missingsymbols/", &params);
  ASSERT_EQ(m.kind, RouteMatch::kFound);
  EXPECT_EQ(m.route_index, 1u);
  EXPECT_TRUE(params.empty());

  params.clear();
  m = r.Match("GET", "/xul.pdb/44E4EC8C2F41492B9369D6B9A059577C2/xul.sym", &params);
  ASSERT_EQ(m.kind, RouteMatch::kFound);
  EXPECT_EQ(m.route_index, 0u);
  EXPECT_EQ(params["debug_file"], "xul.pdb");
  EXPECT_EQ(params["debug_id"], "44E4EC8C2F41492B9369D6B9A059577C2");
  EXPECT_EQ(params["file"], "xul.sym");

  params.clear();
  m = r.Match("GET", "/api/syminfo/xul.pdb/ABC", &params);
  ASSERT_EQ(m.kind, RouteMatch::kFound);
  EXPECT_EQ(m.route_index, 3u);
  EXPECT_EQ(params["file"], "xul.pdb");
  EXPECT_EQ(params["id"], "ABC");
}

TEST(RouterTest, BacktracksFromLiteralToParam) {
  Router r(Table());
  std::map<std::string, std::string> params;
  // "api" is a literal prefix, but /api/foo/bar matches only the download pattern.
  RouteMatch m = r.Match("GET", "/api/foo/bar", &params);
  ASSERT_EQ(m.kind, RouteMatch::kFound);
  EXPECT_EQ(m.route_index, 0u);
  EXPECT_EQ(params["debug_file"], "api");
  EXPECT_EQ(params["file"], "bar");
  // /try/a/b/c: the 4-segment try route; /try/a/b: the download route with debug_file "try".
  params.clear();
  EXPECT_EQ(r.Match("GET", "/try/a/b/c", &params).route_index, 9u);
  EXPECT_EQ(params["debug_file"], "a");
  params.clear();
  EXPECT_EQ(r.Match("GET", "/try/a/b", &params).route_index, 0u);
  EXPECT_EQ(params["debug_file"], "try");
}

TEST(RouterTest, NotFound) {
  Router r(Table());
  EXPECT_EQ(r.Match("GET", "/a/b", nullptr).kind, RouteMatch::kNotFound);
  EXPECT_EQ(r.Match("GET", "/a/b/c/d/e", nullptr).kind, RouteMatch::kNotFound);
  EXPECT_EQ(r.Match("GET", "/upload", nullptr).kind, RouteMatch::kNotFound);  // slash matters
  EXPECT_EQ(r.Match("GET", "/a//c", nullptr).kind, RouteMatch::kNotFound);    // empty param
  EXPECT_EQ(r.Match("GET", "", nullptr).kind, RouteMatch::kNotFound);
  EXPECT_EQ(r.Match("GET", "*", nullptr).kind, RouteMatch::kNotFound);
  EXPECT_EQ(r.Match("GET", "/static", nullptr).kind, RouteMatch::kNotFound);
}

TEST(RouterTest, MethodNotAllowedListsAllowedMethods) {
  Router r(Table());
  RouteMatch m = r.Match("GET", "/upload/", nullptr);
  EXPECT_EQ(m.kind, RouteMatch::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "POST");
  EXPECT_EQ(m.route_index, 2u);  // the route whose path matched (metrics count the 405 under it)
  m = r.Match("PUT", "/api/tokens/", nullptr);
  EXPECT_EQ(m.kind, RouteMatch::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, POST");
  m = r.Match("POST", "/a/b/c", nullptr);
  EXPECT_EQ(m.kind, RouteMatch::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, HEAD");
  EXPECT_EQ(m.route_index, 0u);
  // A route with the method elsewhere in precedence order still wins over 405.
  EXPECT_EQ(r.Match("DELETE", "/api/tokens/7", nullptr).kind, RouteMatch::kFound);
  EXPECT_EQ(MethodNotAllowedMessage("GET", "/upload/"), "Method Not Allowed (GET): /upload/");
}

TEST(RouterTest, HeadOnlyWhereListed) {
  Router r(Table());
  EXPECT_EQ(r.Match("HEAD", "/a/b/c", nullptr).kind, RouteMatch::kFound);
  // The literal route lists no HEAD, and /{a}/{b}/{c} needs a non-empty third segment.
  RouteMatch m = r.Match("HEAD", "/api/missingsymbols/", nullptr);
  EXPECT_EQ(m.kind, RouteMatch::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET");
}

TEST(RouterTest, RestParameter) {
  Router r(Table());
  std::map<std::string, std::string> params;
  RouteMatch m = r.Match("GET", "/static/css/site.css", &params);
  ASSERT_EQ(m.kind, RouteMatch::kFound);
  EXPECT_EQ(m.route_index, 4u);
  EXPECT_EQ(params["path"], "css/site.css");
  params.clear();
  m = r.Match("GET", "/static/", &params);
  ASSERT_EQ(m.kind, RouteMatch::kFound);
  EXPECT_EQ(params["path"], "");
}

TEST(RouterTest, RootAndFirstRegisteredWinsAmongEquals) {
  RouteTable t;
  t.Add({"GET"}, "/{a}", Noop());
  t.Add({"GET"}, "/{b}", Noop());
  t.Add({"GET"}, "/", Noop());
  Router r(t);
  std::map<std::string, std::string> params;
  RouteMatch m = r.Match("GET", "/x", &params);
  EXPECT_EQ(m.route_index, 0u);
  EXPECT_EQ(params["a"], "x");
  EXPECT_EQ(r.Match("GET", "/", nullptr).route_index, 2u);
}

}  // namespace
}  // namespace sigil::http
