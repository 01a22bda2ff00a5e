// symidx_seed_gen OUT_DIR FILE.sym...: writes OUT_DIR/<n>.symidx for each input (fuzz seeds).
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "symbolication/index_builder.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: symidx_seed_gen OUT_DIR FILE.sym...\n";
    return 2;
  }
  int written = 0;
  for (int i = 2; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto built = sigil::symbolication::BuildIndex(ss.str());
    if (!built.ok()) continue;
    std::ofstream out(std::string(argv[1]) + "/" + std::to_string(i - 1) + ".symidx",
                      std::ios::binary);
    out << built->bytes;
    ++written;
  }
  std::cout << "wrote " << written << " index seeds to " << argv[1] << "\n";
  return 0;
}
