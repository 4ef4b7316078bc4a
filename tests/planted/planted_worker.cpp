// Planted-fault worker (being written).
int main() { return 2; }
