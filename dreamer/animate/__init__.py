"""animate."""
