public enum HearthTemplatePlaceholder {}
