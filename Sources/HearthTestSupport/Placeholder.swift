public enum HearthTestSupportPlaceholder {}
