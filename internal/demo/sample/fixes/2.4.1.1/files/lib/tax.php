<?php
// acme shop 2.4.1.1 — tax
function with_tax(float $net): float { return round($net * 1.19, 2); }
