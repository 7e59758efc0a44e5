// Parses a three-bus case with an installed gridbatch and prints its size.
#include <gridbatch/gridbatch.hpp>
#include <iostream>

int main() {
    const char* text = R"(function mpc = three
mpc.version = '2';
mpc.baseMVA = 100;
mpc.bus = [
  1 3 0  0  0 0 1 1 0 230 1 1.1 0.9;
  2 1 50 10 0 0 1 1 0 230 1 1.1 0.9;
  3 1 40 5  0 0 1 1 0 230 1 1.1 0.9;
];
mpc.gen = [ 1 90 0 100 -100 1.0 100 1 200 0; ];
mpc.branch = [
  1 2 0.01 0.1 0.02 100 100 100 0 0 1 -360 360;
  2 3 0.01 0.1 0.02 100 100 100 0 0 1 -360 360;
];
)";
    const gridbatch::Network net = gridbatch::parse_matpower(text, "three.m");
    std::cout << "buses=" << net.n_bus() << " branches=" << net.n_branch() << "\n";
    return 0;
}
