// The `pgenrm` executable. All logic lives in the libraries; see launch/cli.cpp.
#include "launch/cli.h"

int main(int argc, char** argv) { return pgenrm::launch::run_cli(argc, argv); }
