#include "harness/peers.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "harness/llama_bench.h"
#include "base/error.h"

extern char** environ;

namespace tb {

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  const size_t nl = t.rfind('\n');
  t = nl == std::string::npos ? t : t.substr(nl + 1);
  return t.size() > 200 ? t.substr(0, 200) + "..." : t;
}
}  // namespace

std::vector<PeerRun> pair_peers(const std::vector<std::string>& peers, const std::vector<std::string>& models,
                                const std::vector<std::string>& args) {
  std::vector<PeerRun> out;
  if (peers.empty() && models.empty()) {
    if (!args.empty()) throw Error("--peer-args needs --peer and --peer-model");
    return out;
  }
  if (models.empty()) throw Error("--peer needs --peer-model FILE.gguf (the model the peer's llama-bench runs)");
  if (peers.empty()) throw Error("--peer-model needs --peer PATH_TO_LLAMA_BENCH");
  if (peers.size() == models.size())
    for (size_t i = 0; i < peers.size(); ++i) out.push_back({peers[i], models[i], {}});
  else if (peers.size() == 1)
    for (const auto& m : models) out.push_back({peers[0], m, {}});
  else if (models.size() == 1)
    for (const auto& p : peers) out.push_back({p, models[0], {}});
  else
    throw Error(std::to_string(peers.size()) + " --peer and " + std::to_string(models.size()) +
                " --peer-model options: give them in pairs, or one of either");
  if (!args.empty() && args.size() != 1 && args.size() != out.size())
    throw Error(std::to_string(args.size()) + " --peer-args for " + std::to_string(out.size()) +
                " peer runs: give one for all, or one per run in order ('none' for none)");
  for (size_t i = 0; i < out.size() && !args.empty(); ++i) {
    std::stringstream ss(args.size() == 1 ? args[0] : args[i]);
    for (std::string w; ss >> w;)
      if (w != "none") out[i].extra.push_back(w);
  }
  return out;
}

std::vector<json> run_peer(const PeerRun& p, int64_t pp, int64_t tg, int reps, const std::vector<int>& threads) {
  std::string tlist;
  for (int t : threads) tlist += (tlist.empty() ? "" : ",") + std::to_string(t);
  std::vector<std::string> args = {p.llama_bench, "-m", p.model, "-p", std::to_string(pp), "-n", std::to_string(tg),
                                   "-r", std::to_string(reps), "-t", tlist, "-o", "json"};
  args.insert(args.end(), p.extra.begin(), p.extra.end());
  std::string cmd;
  for (const auto& a : args) cmd += (cmd.empty() ? "" : " ") + a;
  const std::string who = "peer " + p.llama_bench + " on " + p.model;

  char out_path[] = "/tmp/ternbench-peer-out-XXXXXX", err_path[] = "/tmp/ternbench-peer-err-XXXXXX";
  const int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path);
  if (out_fd < 0 || err_fd < 0) throw Error(who + ": cannot create a temporary file in /tmp: " + std::strerror(errno));
  struct Cleanup {
    const char *a, *b;
    ~Cleanup() { unlink(a), unlink(b); }
  } cleanup{out_path, err_path};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out_fd);
  close(err_fd);
  if (rc != 0) throw Error(who + ": cannot run " + p.llama_bench + ": " + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string err = last_line(slurp(err_path));
  if (WIFSIGNALED(status))
    throw Error(who + ": killed by signal " + std::to_string(WTERMSIG(status)) + (err.empty() ? "" : " (" + err + ")"));
  if (WEXITSTATUS(status) != 0)
    throw Error(who + ": exit status " + std::to_string(WEXITSTATUS(status)) + (err.empty() ? "" : ": " + err) + " [" + cmd + "]");
  ImportOptions io;
  io.this_machine = true;
  std::vector<json> rows;
  try {
    rows = import_llama_bench(slurp(out_path), p.llama_bench + " output", io);
  } catch (const Error& e) {
    throw Error(who + ": its output is not llama-bench JSON: " + e.what());
  }
  for (json& r : rows) {
    r["model_source"] = p.model;
    r["peer"]["command"] = cmd;
  }
  return rows;
}

}  // namespace tb
