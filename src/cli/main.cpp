#include "cli.h"

int main(int argc, char** argv) { return vfioctl::cli::run(argc, argv); }
