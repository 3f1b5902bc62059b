// The entry point. It declares run() itself instead of including cli.h, so
// this file does not parse CLI11.
namespace vfioctl::cli {
int run(int argc, char** argv);
}

int main(int argc, char** argv) { return vfioctl::cli::run(argc, argv); }
