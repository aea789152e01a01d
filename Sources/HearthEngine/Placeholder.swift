public enum HearthEnginePlaceholder {}
