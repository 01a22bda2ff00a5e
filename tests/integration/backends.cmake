# Backends against real servers: PostgreSQL database, Redis and memcached caches, Redis invalidation bus.
# Also the throwaway-server helpers (tests/integration/support/services.h) other integration tests may use:
# link sigil_it_services and include "integration/support/services.h".
sigil_library(it_services SOURCES ${CMAKE_CURRENT_LIST_DIR}/support/services.cc
  DEPS sigil_common PostgreSQL::PostgreSQL)
target_include_directories(sigil_it_services PUBLIC ${PROJECT_SOURCE_DIR}/tests)

set(_backends ${CMAKE_CURRENT_LIST_DIR}/backends)
sigil_test(it_services_test SOURCES ${_backends}/services_test.cc
  DEPS sigil_it_services LABELS integration TIMEOUT 180)
sigil_test(it_redis_cache_test SOURCES ${_backends}/redis_cache_test.cc
  DEPS sigil_cache_redis sigil_cache_conformance sigil_it_services LABELS integration TIMEOUT 180)
sigil_test(it_redis_invalidation_bus_test SOURCES ${_backends}/redis_invalidation_bus_test.cc
  DEPS sigil_cache_redis sigil_it_services LABELS integration TIMEOUT 180)
sigil_test(it_memcached_cache_test SOURCES ${_backends}/memcached_cache_test.cc
  DEPS sigil_cache_memcached sigil_cache_conformance sigil_it_services LABELS integration TIMEOUT 180)
sigil_test(it_memcached_invalidation_bus_test SOURCES ${_backends}/memcached_invalidation_bus_test.cc
  DEPS sigil_cache_memcached sigil_it_services LABELS integration TIMEOUT 120)
sigil_test(it_postgres_database_test SOURCES ${_backends}/postgres_database_test.cc
  DEPS sigil_db_postgres sigil_db_conformance sigil_it_services LABELS integration TIMEOUT 300)
