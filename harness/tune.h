// The TL tile tuner (`bench_kernels --tune`, `harness tune`): tries tile candidates per 2B4T shape,
// prints each one's speed and writes the winners to configs/tiles/<cpu>.json.
#pragma once

namespace tb {
// Parses its own flags (see --help); returns a process exit code.
int tune_main(int argc, char** argv);
}  // namespace tb
