// A main() for the fuzz targets in ordinary builds: runs the target once on every file named, or on every
// file in every folder named (the committed regression inputs and seeds), and fails when that is no file at
// all. libFuzzer builds use its own main.
#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {
int run_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return 1;
  }
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  int files = 0, bad = 0;
  for (int i = 1; i < argc; ++i) {
    struct stat st {};
    if (stat(argv[i], &st) != 0) {
      std::fprintf(stderr, "replay: %s does not exist\n", argv[i]);
      return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
      bad += run_file(argv[i]);
      ++files;
      continue;
    }
    if (DIR* d = opendir(argv[i])) {
      while (dirent* e = readdir(d)) {
        const std::string name = e->d_name;
        if (name == "." || name == ".." || name == "README.md") continue;
        bad += run_file(std::string(argv[i]) + "/" + name);
        ++files;
      }
      closedir(d);
    }
  }
  // A replay of nothing cannot fail: no inputs (a folder moved, a glob that matched nothing) is an error.
  if (files == 0) {
    std::fprintf(stderr, "replay: no inputs among the %d path%s given; nothing was tested\n", argc - 1,
                 argc == 2 ? "" : "s");
    return 1;
  }
  std::printf("replayed %d inputs without a crash\n", files);
  return bad ? 1 : 0;
}
