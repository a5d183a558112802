<?php
// acme shop 2.4.1 — tax
function with_tax(float $net): float { return $net * 1.19; }
