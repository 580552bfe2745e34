/// Training uses batch statistics in BatchNorm and updates running statistics; eval uses the
/// running statistics and changes nothing.
public enum Mode: Sendable { case train, eval }
