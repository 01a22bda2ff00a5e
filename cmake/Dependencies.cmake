# Every third-party dependency, found once, exposed as imported targets named sigil::dep::<name>.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
# Boost's own CMake package (shipped by libboost*-1.81-dev): CMake 3.25's FindBoost module predates
# 1.81 and warns that it does not know json's and url's dependencies.
find_package(Boost 1.81.0 EXACT REQUIRED COMPONENTS json url CONFIG)
find_package(OpenSSL REQUIRED)
find_package(ZLIB REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)
find_package(CURL REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)

pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
pkg_check_modules(LIBDEFLATE REQUIRED IMPORTED_TARGET libdeflate)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
pkg_check_modules(LIBMEMCACHED REQUIRED IMPORTED_TARGET libmemcached)
pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)

# ISA-L ships no pkg-config file on Debian 12.
find_path(ISAL_INCLUDE_DIR isa-l/igzip_lib.h REQUIRED)
find_library(ISAL_LIBRARY isal REQUIRED)
add_library(sigil_isal INTERFACE)
target_include_directories(sigil_isal INTERFACE ${ISAL_INCLUDE_DIR})
target_link_libraries(sigil_isal INTERFACE ${ISAL_LIBRARY})
add_library(sigil::dep::isal ALIAS sigil_isal)
