// Placeholder until the GGUF reader lands.
#include "model/gguf.h"
