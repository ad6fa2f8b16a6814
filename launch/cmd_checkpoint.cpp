// `pgenrm checkpoint inspect PATH` and `pgenrm checkpoint export PATH --out DIR
// [--tokenizer FILE]`. Thin: the work is in checkpoint/inspect.h.
#include <iostream>

#include "checkpoint/inspect.h"
#include "launch/cli.h"
#include "launch/commands.h"

namespace pgenrm::launch {

int cmd_checkpoint(const CheckpointArgs& a) {
  if (a.action == "inspect") {
    std::cout << checkpoint::inspect(a.path);
    return kExitOk;
  }
  if (a.out.empty()) {
    std::cerr << "pgenrm checkpoint export: --out DIR is required\n"
                 "  hint: pgenrm checkpoint export runs/demo/checkpoints/ckpt-100.h5 --out hf_model\n";
    return kExitUsage;
  }
  checkpoint::export_hf(a.path, a.out, a.tokenizer);
  std::cout << "exported " << a.path << " to " << a.out << " (config.json, model.safetensors"
            << (a.tokenizer.empty() ? "" : ", tokenizer.json") << ")\n";
  return kExitOk;
}

}  // namespace pgenrm::launch
