// onnxfuzz command-line entry point (being written).
int main() { return 2; }
